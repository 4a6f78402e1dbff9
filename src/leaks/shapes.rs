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

/// Blink's animation frame callbacks (`requestAnimationFrame`), native nodes.
pub fn is_blink_animation_frame(name: &str) -> bool {
    name.contains("ScriptedAnimationController")
        || name.contains("FrameRequestCallback")
        || name == "V8FrameCallback"
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

/// Methods that end a registration made through the object that offers them (an
/// observer, a subscription), most specific first.
pub const UNREGISTER_METHODS: &[&str] = &["disconnect", "unobserve", "unsubscribe"];

/// Methods that end what a stream created per call registered on another (a pipe).
pub const STREAM_UNDO_METHODS: &[&str] = &["unpipe"];

/// Methods that register a callback and return the function that removes it.
pub const RETURNS_UNSUBSCRIBE: &[&str] = &["subscribe", "listen", "watch", "onChange"];

/// Methods that remove a listener from an emitter-like object.
pub const LISTENER_REMOVAL_METHODS: &[&str] = &["off", "removeListener", "removeEventListener"];

/// The methods an object offers: the names of functions among its own properties and along
/// its prototype chain (`__proto__`, a few levels), nearest first, without repeats.
pub fn methods(g: &HeapGraph, o: u32) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let has_proto = crate::heap::source::child(g, o, "__proto__").is_some();
    // A native object whose JavaScript wrapper was collected (an observer nobody holds
    // in a variable) has no `__proto__`: its class's prototype is the one of another
    // instance that still has a wrapper.
    let start = if has_proto || g.node_type(o) != g.types.n_native {
        o
    } else {
        class_prototype(g, o).unwrap_or(o)
    };
    let mut cur = Some(start);
    let mut seen = std::collections::HashSet::new();
    for _ in 0..8 {
        let Some(x) = cur else { break };
        if !seen.insert(x) {
            break;
        }
        let mut next = None;
        for e in g.edges(x) {
            if g.raw.edge_type[e] != g.types.e_property {
                continue;
            }
            let n = g.edge_name(e);
            let to = g.raw.edge_to[e];
            if n == "__proto__" {
                next = Some(to);
            } else if g.node_type(to) == g.types.n_closure && !out.iter().any(|m| *m == n) {
                out.push(n.into_owned());
            }
        }
        cur = next;
    }
    out
}

/// Names of the functions whose scope is the context `ctx` (the functions a module or a
/// factory defines next to its variables).
pub fn scope_functions(g: &HeapGraph, ctx: u32) -> Vec<String> {
    let mut out: Vec<String> = g
        .retainers(ctx)
        .filter(|&ri| {
            let from = g.ret_node[ri];
            g.node_type(from) == g.types.n_closure
                && g.edge_name(g.ret_edge[ri] as usize) == "context"
        })
        .map(|ri| g.raw_name(g.ret_node[ri]).to_string())
        .filter(|n| !n.is_empty())
        .collect();
    out.sort();
    out.dedup();
    out
}

/// A CommonJS module record of Node's loader (`require.cache` values): a `Module` with its
/// `exports`, `filename`, `children` and `loaded` fields.
pub fn is_cjs_module(g: &HeapGraph, o: u32) -> bool {
    g.class_name(o) == "Module"
        && ["exports", "filename", "children", "loaded"]
            .iter()
            .all(|f| crate::heap::source::child(g, o, f).is_some())
}

/// The prototype of a native object's class, from another instance of the class that
/// has a JavaScript wrapper (the first in node order).
fn class_prototype(g: &HeapGraph, o: u32) -> Option<u32> {
    let cls = g.classes.class_of[o as usize];
    (0..g.n_nodes() as u32)
        .filter(|&x| g.classes.class_of[x as usize] == cls && x != o)
        .find_map(|x| crate::heap::source::child(g, x, "__proto__"))
}
