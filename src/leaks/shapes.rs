//! Shape tables: how the runtimes and common libraries lay out the structures leaks
//! accumulate in, as they appear in heap snapshots. Node (EventEmitter `_events`,
//! EventTarget `kEvents`, timer lists, handle wraps, sockets, agents), Blink (EventTargetData
//! and its RegisteredEventListener vectors, the DOMTimerCoordinator), and the public classes
//! of widely used libraries (reactive subscribers, loggers). These are names the runtimes
//! and libraries choose; names chosen by an application never decide anything.

use crate::heap::HeapGraph;

/// Node's handle-owning classes: one per open connection or file handle.
pub const HANDLE_CLASSES: &[&str] = &[
    "TCP",
    "Pipe",
    "TLSWrap",
    "TTY",
    "UDP",
    "Socket",
    "TLSSocket",
    "JSStreamSocket",
    "Http2Session",
    "ClientHttp2Session",
    "ServerHttp2Session",
    "FileHandle",
    "WebSocket",
];

/// Node's timer objects.
pub const NODE_TIMERS: &[&str] = &["Timeout", "Immediate"];
/// Node's timer lists.
pub const NODE_TIMER_LISTS: &[&str] = &["TimersList", "ImmediateList"];

/// Blink's timer structures (native nodes).
pub fn is_blink_timer(name: &str) -> bool {
    name == "DOMTimer"
        || name == "ScheduledAction"
        || name.contains("DOMTimerCoordinator")
        || name.contains("BasicMember<blink::DOMTimer")
}

/// Blink's event listener structures (native nodes).
pub fn is_blink_listener(name: &str) -> bool {
    name.contains("EventTargetData")
        || name.contains("RegisteredEventListener")
        || name == "V8EventListener"
        || name == "EventListener"
        || name == "JSEventListener"
        || name == "V8EventListenerOrEventHandler"
        || name.contains("EventListenerMap")
}

/// Node's EventEmitter listener map edge (`_events`) or EventTarget's (`kEvents`).
pub fn is_listener_map_edge(name: &str) -> bool {
    name == "_events" || name.contains("kEvents")
}

/// Reactive-stream subscriber classes (RxJS and its kin): their lists are listener lists.
pub fn is_subscriber_class(class: &str) -> bool {
    class.ends_with("Subscriber")
        || class.ends_with("Observer")
        || class == "Subscription"
        || class == "SubjectSubscription"
        || class == "InnerSubscriber"
}

/// Reactive subjects and the properties that hold their subscriber lists.
pub fn is_subscriber_list_edge(name: &str) -> bool {
    matches!(
        name,
        "observers"
            | "currentObservers"
            | "_observers"
            | "subscribers"
            | "_subscribers"
            | "_finalizers"
            | "_teardowns"
    )
}

/// Logger classes of common logging libraries (winston, pino, bunyan, log4js).
pub fn is_logger_class(class: &str) -> bool {
    class.ends_with("Logger") || class == "Pino" || class == "Bunyan"
}

/// Edges that are part of a structure rather than a name a developer chose.
pub fn is_structural_property(name: &str) -> bool {
    matches!(
        name,
        "_events"
            | "_eventsCount"
            | "_idlePrev"
            | "_idleNext"
            | "__proto__"
            | "constructor"
            | "prototype"
            | "_onTimeout"
            | "_onImmediate"
            | "listener"
            | "_list"
            | "head"
            | "tail"
            | "_head"
            | "_tail"
            | "next"
            | "prev"
            | "_next"
            | "_prev"
            | "previous"
            | "nextSibling"
            | "previousSibling"
    ) || name.contains("kEvents")
        || name.starts_with("<symbol ")
}

/// Whether a node is a global object (Node's `global`, a page's `Window`).
pub fn is_global_object(g: &HeapGraph, o: u32) -> bool {
    let name = g.raw_name(o);
    g.node_type(o) == g.types.n_object
        && (name == "global"
            || name.starts_with("global / ")
            || name == "Window"
            || name.starts_with("Window / ")
            || name.starts_with("Window [JSGlobalObject]")
            || name.starts_with("DedicatedWorkerGlobalScope")
            || name.starts_with("ServiceWorkerGlobalScope"))
}

/// `system / Context` of any V8 (`system / Context / scope @12` in newer ones).
pub fn is_context(g: &HeapGraph, o: u32) -> bool {
    let n = g.raw_name(o);
    n == "system / Context" || n.starts_with("system / Context / ")
}

/// Collections a leak can accumulate in.
pub fn is_collection_class(class: &str) -> bool {
    matches!(
        class,
        "Map" | "Set" | "Array" | "Object" | "WeakMap" | "WeakSet" | "SafeMap" | "SafeSet"
    ) || class.starts_with('{')
}

/// A DOM node as Blink shows it: a native node named like an element (`<div class="x">`)
/// or a text node, possibly renamed `Detached ...` by DevTools.
pub fn is_dom_node(g: &HeapGraph, o: u32) -> bool {
    if g.node_type(o) != g.types.n_native {
        return false;
    }
    let n = g.raw_name(o);
    let n = n.strip_prefix("Detached ").unwrap_or(n);
    n.starts_with('<')
        || n == "Text"
        || n == "Comment"
        || n == "DocumentFragment"
        || is_document_name(n)
}

/// Blink's document node.
pub fn is_document_name(n: &str) -> bool {
    matches!(n, "HTMLDocument" | "Document" | "XMLDocument" | "#document")
}
