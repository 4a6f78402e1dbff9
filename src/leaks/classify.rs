//! Stage 5, classification: the leak pattern, decided at the accumulation point from what
//! accumulates, in what container, owned by whom, with the shape tables of `shapes.rs`.
//! Only the container, the structure between its owner and it, and the leaked units with
//! what is right below them are looked at: objects above the owner (a server's maintenance
//! timer, a library's own timer) are incidental and decide nothing.
//!
//! The classifier sees a [`Subject`], a read-only summary built from the earlier stages.

use super::Pattern;
use super::owners::Owner;
use super::shapes;
use crate::heap::HeapGraph;

/// What the classifier looks at for one group.
pub struct Subject<'a> {
    pub g: &'a HeapGraph,
    /// The container the units accumulate in.
    pub ap: u32,
    /// The first step out of the container (`[]`, `[key]` or a name).
    pub role: &'a str,
    pub owner: Option<&'a Owner>,
    /// Steps from the container down to the representative unit: (holder, edge, target).
    pub local: Vec<(u32, usize, u32)>,
    /// Steps from the container down to a few other members (to see chains).
    pub member_paths: Vec<Vec<(u32, usize, u32)>>,
    /// The representative unit and a sample of the units.
    pub rep: u32,
    pub units: &'a [u32],
    pub unit_class: &'a str,
    pub count: u64,
    pub growth: &'a [u64],
    pub retained: u64,
    /// The other containers of a group merged from several (their classes).
    pub other_aps: Vec<u32>,
    /// Whether an object is new since the first snapshot.
    pub is_new: &'a dyn Fn(u32) -> bool,
    /// Bytes above which one allocation that stays is a large dataset.
    pub large_bytes: u64,
    /// The snapshot's scripts (where a function comes from: the user's code or not).
    pub scripts: &'a std::collections::HashMap<u32, crate::heap::source::Script>,
}

/// The API the leak is made with: it decides the wording of the fix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    EventEmitter,
    NodeEventTarget,
    DomEventTarget,
    Reactive,
    CallbackList,
    NodeTimer,
    DomTimer,
    /// `requestAnimationFrame` callbacks that request the next frame forever.
    AnimationFrame,
    Socket,
    Agent,
    PoolClient,
    Logger,
    /// Modules loaded per call stay in Node's `require.cache`.
    ModuleCache,
    ClosureScope,
    MapLike,
    SetLike,
    ArrayLike,
    ObjectLike,
    Dataset,
    DetachedDom,
    Unknown,
}

/// The classifier's answer.
#[derive(Debug, Clone)]
pub struct Verdict {
    pub pattern: Pattern,
    pub api: Api,
    /// The object the fix acts on: the listener, the timer callback, the captured closure.
    pub focus: Option<u32>,
    /// The event name of a listener leak.
    pub event: Option<String>,
    /// What one leaked unit is.
    pub unit: String,
    /// The call that ends the registration or gives the resource back, when the objects'
    /// own classes offer one.
    pub undo: Option<Undo>,
}

/// The method that undoes a leak, found on the real objects (an observer's `disconnect` on
/// its prototype, a pool's `release`, the function a `subscribe` method returns).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Undo {
    /// The method to call (`disconnect`, `release`, `unpipe`, `removeEventListener`).
    pub method: String,
    /// The class of the object it is called on (`MutationObserver`, `Pool`, `PassThrough`).
    pub class: String,
    /// How the code names that object (`pool`, `src`), when the heap shows it.
    pub receiver: Option<String>,
    /// The registering method whose return value is the undo function (`subscribe`).
    pub returned_by: Option<String>,
}

impl Subject<'_> {
    fn class(&self, o: u32) -> &str {
        self.g.class_name(o)
    }
    fn is_closure(&self, o: u32) -> bool {
        self.g.node_type(o) == self.g.types.n_closure
    }
    /// Nodes of the structure between the owner and the container, and the container.
    fn structure_nodes(&self) -> Vec<u32> {
        let g = self.g;
        let mut v = vec![self.ap];
        if let Some(o) = self.owner {
            v.push(o.target);
            for &e in &o.structure {
                v.push(g.raw.edge_to[e]);
            }
        }
        v.extend(self.other_aps.iter().copied());
        v
    }
    fn structure_edges(&self) -> Vec<String> {
        let g = self.g;
        let mut v: Vec<String> = Vec::new();
        if let Some(o) = self.owner {
            v.extend(o.structure.iter().map(|&e| g.edge_name(e).into_owned()));
        }
        v.extend(self.local.iter().map(|s| g.edge_name(s.1).into_owned()));
        v
    }
}

/// A handle within a few hops of `o` through new objects.
fn handle_near(s: &Subject<'_>, o: u32, hops: u32) -> Option<u32> {
    class_near(s, o, hops, shapes::HANDLE_CLASSES)
}

/// An object of one of `classes` (or a Node TCP wrap) within a few hops of `o` through
/// new objects.
fn class_near(s: &Subject<'_>, o: u32, hops: u32, classes: &[&str]) -> Option<u32> {
    near_matching(s, o, hops, &|cls: &str, depth: u32| {
        classes.contains(&cls) || (depth > 0 && cls.starts_with("Node / TCP"))
    })
}

/// An object whose class satisfies `pred(class, depth)` within a few hops of `o` through
/// new objects.
fn near_matching(
    s: &Subject<'_>,
    o: u32,
    hops: u32,
    pred: &dyn Fn(&str, u32) -> bool,
) -> Option<u32> {
    let g = s.g;
    let mut frontier = vec![o];
    let mut seen = std::collections::HashSet::new();
    seen.insert(o);
    for depth in 0..=hops {
        let mut next = Vec::new();
        for &x in &frontier {
            if pred(s.class(x), depth) {
                return Some(x);
            }
            if depth == hops {
                continue;
            }
            for e in g.edges(x) {
                if g.raw.edge_type[e] == g.types.e_weak {
                    continue;
                }
                let to = g.raw.edge_to[e];
                let ty = g.node_type(to);
                if ty == g.types.n_code || ty == g.types.n_object_shape || !(s.is_new)(to) {
                    continue;
                }
                let n = g.edge_name(e);
                if n == "__proto__" || n == "map" || n == "constructor" {
                    continue;
                }
                if seen.len() < 256 && seen.insert(to) {
                    next.push(to);
                }
            }
        }
        frontier = next;
    }
    None
}

/// Whether a connection is still open: its handle (`_handle`, `kHandle`) is a live wrap
/// rather than `null`, looking through a wrapper's `_socket`/`socket`; `None` when the
/// object shows neither.
fn connection_open(g: &HeapGraph, o: u32, depth: u32) -> Option<bool> {
    for e in g.edges(o) {
        if g.edge_has_index(e) || g.raw.edge_type[e] == g.types.e_weak {
            continue;
        }
        let n = g.edge_name(e);
        if n == "_handle" || n.contains("kHandle") {
            let to = g.raw.edge_to[e];
            let ty = g.node_type(to);
            return Some(ty == g.types.n_object || ty == g.types.n_native);
        }
    }
    if depth == 0 {
        return None;
    }
    ["_socket", "socket"].iter().find_map(|f| {
        let x = crate::heap::source::child(g, o, f)?;
        if g.node_type(x) != g.types.n_object {
            // `socket = null` after close.
            return Some(false);
        }
        connection_open(g, x, depth - 1)
    })
}

/// A detached DOM node within a few hops of `o` through new objects.
fn detached_near(s: &Subject<'_>, o: u32) -> Option<u32> {
    let g = s.g;
    let mut frontier = vec![o];
    let mut seen = std::collections::HashSet::new();
    seen.insert(o);
    for _ in 0..4 {
        let mut next = Vec::new();
        for &x in &frontier {
            if g.det_state[x as usize] == 2 && shapes::is_dom_node(g, x) {
                return Some(x);
            }
            for e in g.edges(x) {
                if g.raw.edge_type[e] == g.types.e_weak {
                    continue;
                }
                let to = g.raw.edge_to[e];
                let ty = g.node_type(to);
                if ty == g.types.n_code || ty == g.types.n_object_shape || !(s.is_new)(to) {
                    continue;
                }
                if seen.len() < 512 && seen.insert(to) {
                    next.push(to);
                }
            }
        }
        frontier = next;
    }
    None
}

/// Whether most units keep a detached DOM tree that is a good part of what they retain.
fn keeps_detached_dom(s: &Subject<'_>) -> bool {
    let g = s.g;
    let sample: Vec<u32> = s.units.iter().copied().take(32).collect();
    let keeping = sample
        .iter()
        .filter(|&&u| {
            detached_near(s, u)
                .is_some_and(|d| g.retained[d as usize] * 3 >= g.retained[u as usize])
        })
        .count();
    !sample.is_empty() && keeping * 2 > sample.len()
}

/// The closure whose new context carries the data on a path from the container.
fn closure_on(s: &Subject<'_>, path: &[(u32, usize, u32)]) -> Option<u32> {
    let g = s.g;
    path.windows(2).find_map(|w| {
        let (f, e, ctx) = w[0];
        let (_, e2, _) = w[1];
        (s.is_closure(f)
            && g.edge_name(e) == "context"
            && shapes::is_context(g, ctx)
            && (s.is_new)(ctx)
            && g.raw.edge_type[e2] == g.types.e_context)
            .then_some(f)
    })
}

/// Decides the pattern of one group, and the call that undoes it.
pub fn classify(s: &Subject<'_>) -> Verdict {
    let mut v = pattern_of(s);
    v.undo = undo_of(s, &v);
    if v.pattern == Pattern::UnclosedConnection
        && v.undo.as_ref().is_some_and(|u| u.method == "release")
    {
        // Connections borrowed from a pool and never given back.
        v.api = Api::PoolClient;
        v.unit = "pooled connection".into();
    }
    v
}

/// Decides the pattern of one group.
fn pattern_of(s: &Subject<'_>) -> Verdict {
    let g = s.g;
    let structure = s.structure_nodes();
    let edges = s.structure_edges();
    let event = s.owner.and_then(|o| o.event.clone());
    let unit_is_fn = s.unit_class == "Function";
    let verdict = |pattern, api, focus, unit: &str| Verdict {
        pattern,
        api,
        focus,
        event: event.clone(),
        unit: unit.to_string(),
        undo: None,
    };

    // 1. Listener lists: the container is (part of) an event listener structure.
    let node_map = edges.iter().any(|e| shapes::is_listener_map_edge(e));
    let blink_listener = structure
        .iter()
        .chain(s.local.iter().map(|x| &x.2))
        .any(|&o| g.node_type(o) == g.types.n_native && shapes::is_blink_listener(g.raw_name(o)));
    // The listener: the first function below the container, or the unit itself (a
    // library's listener record: the location stage finds the function in it).
    let focus_fn = s
        .local
        .iter()
        .map(|x| x.2)
        .chain(std::iter::once(s.rep))
        .find(|&o| s.is_closure(o))
        .or(Some(s.rep));
    // Library objects created per call that register listeners (a logger's exception
    // handlers): the fix is to create one, not to remove the library's listener.
    let logger = shapes::is_logger_class(s.unit_class)
        || s.units.iter().take(8).any(|&u| {
            near_matching(s, u, 3, &|cls: &str, _| shapes::is_logger_class(cls)).is_some()
        });
    if node_map && logger {
        return verdict(Pattern::EventListener, Api::Logger, focus_fn, "logger");
    }
    // Listeners that close over removed elements: what accumulates is detached DOM, and
    // the fix is to remove the listener that keeps it.
    if (node_map || blink_listener) && keeps_detached_dom(s) {
        let unit = s
            .units
            .iter()
            .take(16)
            .find_map(|&u| detached_near(s, u))
            .map(|d| detached_name(g, d))
            .unwrap_or_else(|| "detached DOM tree".into());
        return verdict(Pattern::DetachedDom, Api::DetachedDom, focus_fn, &unit);
    }
    if node_map {
        let api = if edges.iter().any(|e| e.contains("kEvents")) {
            Api::NodeEventTarget
        } else {
            Api::EventEmitter
        };
        return verdict(Pattern::EventListener, api, focus_fn, "listener");
    }
    if blink_listener {
        return verdict(
            Pattern::EventListener,
            Api::DomEventTarget,
            focus_fn,
            "listener",
        );
    }
    let subscriber_units = shapes::is_subscriber_class(s.unit_class);
    let subscriber_list = edges.iter().any(|e| shapes::is_subscriber_list_edge(e))
        || shapes::is_subscriber_list_edge(s.role);
    if subscriber_units || (subscriber_list && unit_is_fn) {
        return verdict(
            Pattern::EventListener,
            Api::Reactive,
            focus_fn,
            "subscription",
        );
    }

    // 2. Connections: the units are (or hold) sockets and handles. Before timers: an open
    // socket's idle timer is part of the connection.
    let sample: Vec<u32> = s.units.iter().copied().take(64).collect();
    let with_handle = sample
        .iter()
        .filter(|&&u| handle_near(s, u, 3).is_some())
        .count();
    // Connections that were closed properly but stay in the user's own collection: the
    // collection is the mistake (nothing removes the entry on 'close').
    let closed = sample
        .iter()
        .filter(|&&u| handle_near(s, u, 3).and_then(|h| connection_open(g, h, 2)) == Some(false))
        .count();
    let users_collection = s
        .owner
        .is_some_and(|o| o.origin == crate::heap::source::Origin::User)
        && shapes::is_collection_class(s.class(s.ap));
    let closed_in_collection = users_collection && closed * 2 > sample.len();
    if !sample.is_empty() && with_handle * 2 >= sample.len() && !closed_in_collection {
        let agent = s.unit_class == "Agent"
            || structure.iter().any(|&o| s.class(o) == "Agent")
            || edges
                .iter()
                .any(|e| e == "freeSockets" || e == "sockets" || e == "agent")
            || sample
                .iter()
                .take(8)
                .any(|&u| super::owners::pool_owner(g, u, &["Agent"]).is_some());
        let handle_unit = shapes::HANDLE_CLASSES.contains(&s.unit_class);
        let (api, unit) = if agent {
            (
                Api::Agent,
                if s.unit_class == "Agent" {
                    "agent"
                } else {
                    "socket"
                },
            )
        } else if handle_unit {
            (Api::Socket, "connection")
        } else {
            (Api::PoolClient, "client")
        };
        return verdict(Pattern::UnclosedConnection, api, None, unit);
    }

    // 3. Timers: timer objects accumulate, or the units hang below timers of the
    // container's own list (a timeout that reschedules itself with what it captured).
    let node_timer_units = shapes::NODE_TIMERS.contains(&s.unit_class);
    let node_timer_list = shapes::NODE_TIMER_LISTS.contains(&s.class(s.ap))
        || s.local
            .iter()
            .any(|x| shapes::NODE_TIMERS.contains(&s.class(x.0)) && (s.is_new)(x.0));
    if node_timer_units || node_timer_list {
        let cb = s.local.iter().find_map(|x| {
            let n = g.edge_name(x.1);
            (n == "_onTimeout" || n == "_onImmediate").then_some(x.2)
        });
        let focus = if node_timer_units {
            crate::heap::source::child(g, s.rep, "_onTimeout")
                .or_else(|| crate::heap::source::child(g, s.rep, "_onImmediate"))
        } else {
            cb.or(focus_fn)
        };
        return verdict(Pattern::Timer, Api::NodeTimer, focus, "timer");
    }
    let blink_timer = structure
        .iter()
        .chain(s.local.iter().map(|x| &x.2))
        .any(|&o| g.node_type(o) == g.types.n_native && shapes::is_blink_timer(g.raw_name(o)));
    if blink_timer {
        return verdict(Pattern::Timer, Api::DomTimer, focus_fn, "timer");
    }

    // 4. Detached DOM trees kept by JS.
    let detached = |o: u32| g.det_state[o as usize] == 2 && shapes::is_dom_node(g, o);
    if detached(s.rep) || s.units.iter().take(16).any(|&u| detached(u)) {
        let unit = detached_name(g, s.rep);
        return verdict(Pattern::DetachedDom, Api::DetachedDom, None, &unit);
    }

    // 4b. Animation frame loops (`requestAnimationFrame` callbacks that keep requesting);
    // loops over removed elements are detached DOM (below), with the loop's fix.
    let animation_frame = structure
        .iter()
        .chain(s.local.iter().map(|x| &x.2))
        .any(|&o| {
            g.node_type(o) == g.types.n_native && shapes::is_blink_animation_frame(g.raw_name(o))
        });
    if animation_frame && !keeps_detached_dom(s) {
        return verdict(
            Pattern::Timer,
            Api::AnimationFrame,
            focus_fn,
            "animation frame loop",
        );
    }

    // 5. Closures: the data is held through the context of closures created per call,
    // in a slot (a variable or property), not in a collection.
    let slot = super::accumulation::is_named_role(s.role);
    if slot {
        let f = closure_on(s, &s.local)
            .or_else(|| s.member_paths.iter().find_map(|p| closure_on(s, p)));
        if let Some(f) = f {
            return verdict(Pattern::Closure, Api::ClosureScope, Some(f), "closure");
        }
    }

    // 6. Modules loaded per call: Node's loader keeps every module it loaded.
    if s.units
        .iter()
        .take(16)
        .any(|&u| shapes::is_cjs_module(g, u))
    {
        return verdict(
            Pattern::UnboundedCollection,
            Api::ModuleCache,
            None,
            "module",
        );
    }
    // 6b. Loggers created per call (their classes name them).
    if shapes::is_logger_class(s.unit_class) {
        return verdict(Pattern::UnboundedCollection, Api::Logger, None, "logger");
    }

    // 7. Large datasets: one burst that stays.
    let n = s.growth.len();
    let stays = n >= 2 && s.growth[n - 1] == s.growth[n - 2];
    if s.retained >= s.large_bytes && (stays || s.count <= 16) {
        return verdict(Pattern::LargeDataset, Api::Dataset, None, s.unit_class);
    }

    // 8. Collections. Entries that hold removed elements are detached DOM: the element
    // trees are what accumulates.
    if keeps_detached_dom(s) {
        let unit = s
            .units
            .iter()
            .take(16)
            .find_map(|&u| detached_near(s, u))
            .map(|d| detached_name(g, d))
            .unwrap_or_else(|| "detached DOM tree".into());
        return verdict(Pattern::DetachedDom, Api::DetachedDom, None, &unit);
    }
    let ap_class = s.class(s.ap);
    let keyed = !slot || g.edges(s.ap).len() >= 64;
    if shapes::is_collection_class(ap_class) || keyed {
        let (api, unit) = match ap_class {
            "Map" | "SafeMap" | "WeakMap" => (Api::MapLike, "Map entry"),
            "Set" | "SafeSet" | "WeakSet" => (Api::SetLike, "Set entry"),
            "Array" => (Api::ArrayLike, "array element"),
            _ => (Api::ObjectLike, "entry"),
        };
        if unit_is_fn && matches!(api, Api::ArrayLike | Api::SetLike | Api::MapLike) {
            // A callback list of an emitter-like object with its own removal method.
            let api = match s.owner.map(|o| o.holder).and_then(|h| removal_method(g, h)) {
                Some("removeEventListener") => Api::NodeEventTarget,
                Some(_) => Api::EventEmitter,
                None if api == Api::MapLike => {
                    return verdict(
                        Pattern::UnboundedCollection,
                        Api::MapLike,
                        None,
                        "Map entry",
                    );
                }
                None => Api::CallbackList,
            };
            let unit = if api == Api::CallbackList {
                "callback"
            } else {
                "listener"
            };
            return verdict(Pattern::EventListener, api, focus_fn, unit);
        }
        return verdict(Pattern::UnboundedCollection, api, None, unit);
    }
    verdict(Pattern::Unknown, Api::Unknown, None, s.unit_class)
}

/// The listener-removal method an object offers (`off`, `removeListener`,
/// `removeEventListener`, `unsubscribe`), own or inherited one level.
fn removal_method(g: &HeapGraph, o: u32) -> Option<&'static str> {
    const METHODS: [&str; 4] = [
        "off",
        "removeListener",
        "removeEventListener",
        "unsubscribe",
    ];
    let mut objs = vec![o];
    if let Some(p) = crate::heap::source::child(g, o, "__proto__") {
        objs.push(p);
    }
    for x in objs {
        for e in g.edges(x) {
            if g.raw.edge_type[e] != g.types.e_property
                || g.node_type(g.raw.edge_to[e]) != g.types.n_closure
            {
                continue;
            }
            let n = g.edge_name(e);
            if let Some(m) = METHODS.iter().find(|m| **m == n) {
                return Some(m);
            }
        }
    }
    None
}

/// DevTools' name of a detached DOM node: `Detached <div class="card">`.
pub fn detached_name(g: &HeapGraph, o: u32) -> String {
    let raw = g.raw_name(o);
    if raw.starts_with("Detached ") {
        raw.to_string()
    } else {
        format!("Detached {raw}")
    }
}

/// The call that undoes the leak, from the methods the objects involved really offer:
/// a pool's own give-back method for connections borrowed from it; for registrations, the
/// removal method of the registering object nearest the leaked callback (an observer's
/// `disconnect`), the function a `subscribe`-like method returns, a DOM listener's
/// `removeEventListener`, or the method of the stream a runtime listener was registered for
/// (a pipe's `unpipe`).
fn undo_of(s: &Subject<'_>, v: &Verdict) -> Option<Undo> {
    let g = s.g;
    let undo = |method: &str, class: &str, receiver: Option<String>, returned_by: Option<&str>| {
        Some(Undo {
            method: method.to_string(),
            class: class.to_string(),
            receiver,
            returned_by: returned_by.map(str::to_string),
        })
    };
    let entry = s
        .owner
        .and_then(|o| o.entry)
        .map(|(_, e)| g.edge_name(e).into_owned());
    if v.pattern == Pattern::UnclosedConnection {
        // Connections borrowed from a pool: the pool hands them out and takes them back.
        let o = s.owner?;
        let m = shapes::methods(g, o.holder);
        let has = |n: &str| m.iter().any(|x| x == n);
        if has("release") && has("acquire") {
            return undo("release", g.class_name(o.holder), entry, None);
        }
        return None;
    }
    if !matches!(v.pattern, Pattern::EventListener | Pattern::DetachedDom) {
        return None;
    }
    // A DOM listener list (Blink's EventTargetData) between the container and the units.
    let blink_listener = s
        .structure_nodes()
        .into_iter()
        .chain(s.local.iter().map(|x| x.2))
        .any(|o| g.node_type(o) == g.types.n_native && shapes::is_blink_listener(g.raw_name(o)));
    // An animation frame loop (Blink's ScriptedAnimationController) that keeps them.
    let animation_frame = s
        .structure_nodes()
        .into_iter()
        .chain(s.local.iter().map(|x| x.2))
        .any(|o| {
            g.node_type(o) == g.types.n_native && shapes::is_blink_animation_frame(g.raw_name(o))
        });
    if animation_frame {
        return undo("cancelAnimationFrame", "Window", None, None);
    }
    if blink_listener && v.api != Api::DomEventTarget {
        let target = s.owner.map(|o| o.name.clone());
        return undo("removeEventListener", "EventTarget", target, None);
    }
    // The registering object nearest the leaked callback, below the container (an
    // observer the observed element keeps).
    for &(h, _, t) in s.local.iter().rev() {
        for x in [t, h] {
            if x == s.rep || s.is_closure(x) {
                continue;
            }
            let m = shapes::methods(g, x);
            if let Some(k) = shapes::UNREGISTER_METHODS
                .iter()
                .find(|k| m.iter().any(|x| x == *k))
            {
                return undo(k, s.class(x), None, None);
            }
        }
    }
    // A callback list kept by a module or factory whose `subscribe`-like method adds to it:
    // that method returns the function that removes the callback.
    let emitter = matches!(
        v.api,
        Api::EventEmitter | Api::NodeEventTarget | Api::DomEventTarget | Api::Logger
    );
    if let Some(o) = s.owner.filter(|_| !emitter) {
        let offered = if shapes::is_context(g, o.holder) {
            shapes::scope_functions(g, o.holder)
        } else {
            shapes::methods(g, o.holder)
        };
        let removes = offered
            .iter()
            .any(|m| shapes::LISTENER_REMOVAL_METHODS.contains(&m.as_str()) || m == "unsubscribe");
        if !removes
            && let Some(r) = shapes::RETURNS_UNSUBSCRIBE
                .iter()
                .find(|k| offered.iter().any(|m| m == *k))
        {
            return undo("unsubscribe", g.class_name(o.holder), None, Some(r));
        }
    }
    // A listener registered by the runtime or a library on the user's behalf (Node's pipe):
    // the stream it was registered for, captured in the listener's scope, ends it.
    let f = v.focus.filter(|&f| s.is_closure(f))?;
    let from_user = g
        .location(f)
        .and_then(|[sid, _, _]| s.scripts.get(&sid))
        .is_none_or(|sc| {
            crate::heap::source::origin(&sc.name) == crate::heap::source::Origin::User
        });
    if from_user {
        return None;
    }
    let ctx = crate::heap::source::child(g, f, "context")?;
    for e in g.edges(ctx) {
        if g.raw.edge_type[e] != g.types.e_context {
            continue;
        }
        let to = g.raw.edge_to[e];
        if !(s.is_new)(to) || s.owner.is_some_and(|o| o.target == to) {
            continue;
        }
        let m = shapes::methods(g, to);
        if let Some(k) = shapes::STREAM_UNDO_METHODS
            .iter()
            .chain(shapes::UNREGISTER_METHODS)
            .find(|k| m.iter().any(|x| x == *k))
        {
            return undo(k, s.class(to), Some(g.edge_name(e).into_owned()), None);
        }
    }
    None
}
