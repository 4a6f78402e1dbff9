//! Stage 7, explanation: the retainer path (from a long-lived root through the owner to the
//! container and one leaked unit), what the unit keeps alive below it (`keeps`: the largest
//! retained chain, closure -> context variable -> the big array), the reason sentence, the
//! fix written for the API at hand, and a fingerprint that does not depend on how the
//! snapshot was taken.

use super::accumulation::norm_edge;
use super::classify::{Api, Undo, Verdict};
use super::grouping::collapse;
use super::owners::{Owner, OwnerKind};
use super::{KeepStep, Library, PathStep, Pattern};
use crate::heap::HeapGraph;
use crate::heap::graph::ROOT;
use crate::heap::paths::{NO_PARENT, PathTree};
use crate::heap::source::Origin;
use crate::units::bytes_u64 as human_bytes;

/// The node an edge leaves from (edges are stored by source, in node order).
pub fn edge_source(g: &HeapGraph, e: usize) -> u32 {
    let fe = &g.raw.first_edge;
    // The last node whose first edge is <= e.
    let k = fe.partition_point(|&x| x as usize <= e);
    k.saturating_sub(1) as u32
}

/// The retainer path as (holder, edge) pairs: the tree path to the owner, the owner's
/// edge and structure, then the tree path from the container down to `rep`.
pub fn path_edges(
    g: &HeapGraph,
    tree: &PathTree,
    owner: Option<&Owner>,
    ap: u32,
    rep: u32,
) -> Vec<(u32, usize)> {
    let tree_path = |o: u32| -> Vec<(u32, usize)> {
        tree.edges_to(o)
            .into_iter()
            .map(|e| {
                let to = g.raw.edge_to[e as usize];
                (tree.parent[to as usize], e as usize)
            })
            .collect()
    };
    let full = tree_path(rep);
    let Some(o) = owner else {
        return full;
    };
    // From the container down to rep, on the tree.
    let Some(at) = full.iter().position(|&(h, _)| h == ap) else {
        return full;
    };
    let below = &full[at..];
    let mut out = if o.holder == ROOT {
        Vec::new()
    } else {
        tree_path(o.holder)
    };
    if tree.parent_edge[o.holder as usize] == NO_PARENT && o.holder != ROOT {
        return full;
    }
    if let Some(e) = o.edge {
        out.push((o.holder, e));
    }
    for &e in &o.structure {
        out.push((edge_source(g, e), e));
    }
    // The splice must be a chain ending at the container, without repeating a node.
    let chain_ok = out.windows(2).all(|w| g.raw.edge_to[w[0].1] == w[1].0)
        && out.last().is_none_or(|&(_, e)| g.raw.edge_to[e] == ap);
    let mut seen = std::collections::HashSet::new();
    let simple = out.iter().chain(below).all(|&(h, _)| seen.insert(h));
    if !chain_ok || !simple {
        return full;
    }
    out.extend_from_slice(below);
    out
}

/// The readable retainer path: root first, repeated segments collapsed.
pub fn retainer_path(
    g: &HeapGraph,
    steps: &[(u32, usize)],
    is_new: &dyn Fn(u32) -> bool,
) -> Vec<PathStep> {
    let holder_name = |from: u32| {
        if from == ROOT {
            "(root)".to_string()
        } else if g.node_type(from) == g.types.n_synthetic && !g.raw_name(from).is_empty() {
            g.raw_name(from).to_string()
        } else {
            g.class_name(from).to_string()
        }
    };
    let keys: Vec<(String, String, String)> = steps
        .iter()
        .map(|&(from, e)| {
            (
                holder_name(from),
                norm_edge(g, e, from),
                g.edge_type_name(e).to_string(),
            )
        })
        .collect();
    let collapsed = collapse(&keys);
    let mut out = Vec::with_capacity(collapsed.len());
    let mut i = 0;
    for (_, n) in collapsed {
        let Some(&(from, e)) = steps.get(i) else {
            break;
        };
        out.push(PathStep {
            holder: holder_name(from),
            holder_id: g.id(from) as u64,
            edge: g.edge_name(e).into_owned(),
            edge_type: g.edge_type_name(e).to_string(),
            suspect: is_new(g.raw.edge_to[e]),
            repeat: n,
        });
        i += n as usize;
    }
    out
}

/// The largest retained chain below `o`: each step goes to the dominated child retaining
/// the most, while it holds at least half of what its holder retains.
pub fn keeps(g: &HeapGraph, o: u32) -> Vec<KeepStep> {
    let mut out = Vec::new();
    let mut cur = o;
    // The next links of a chain (objects of the leaked object's own class) are other units,
    // not what this one keeps.
    let own_class = g.classes.class_of[o as usize];
    for _ in 0..8 {
        let mut best: Option<(u64, usize, u32)> = None;
        for e in g.edges(cur) {
            if g.raw.edge_type[e] == g.types.e_weak {
                continue;
            }
            let to = g.raw.edge_to[e];
            if to == cur
                || g.idom[to as usize] != cur
                || g.classes.class_of[to as usize] == own_class
            {
                continue;
            }
            let r = g.retained[to as usize];
            if best.is_none_or(|b| r > b.0) {
                best = Some((r, e, to));
            }
        }
        let Some((r, e, to)) = best else { break };
        if r * 2 < g.retained[cur as usize] || r == 0 {
            break;
        }
        out.push(KeepStep {
            edge: g.edge_name(e).into_owned(),
            edge_type: g.edge_type_name(e).to_string(),
            class: g.class_name(to).to_string(),
            retained_bytes: r,
        });
        // The memory itself: an object that is mostly its own bytes.
        if g.self_size[to as usize] * 2 >= r {
            break;
        }
        cur = to;
    }
    out
}

/// How the owner reads in a sentence: `` `configBus` `` or `` `ReportService.#rendered` ``.
pub fn owner_text(o: &Owner, display: &str, entry: Option<&str>) -> String {
    if o.origin == Origin::Runtime && o.edge.is_some() {
        return format!("`{display}`");
    }
    if let Origin::Library(lib) = &o.origin {
        // `Subject.currentObservers` of `priceTicks` (in `rxjs`)
        let inner = match o.kind {
            OwnerKind::Property | OwnerKind::ClassField | OwnerKind::MapEntry => {
                format!("`{}.{}`", o.holder_class, o.name)
            }
            _ => format!("`{}`", o.name),
        };
        let of = entry.map(|e| format!(" of `{e}`")).unwrap_or_default();
        return format!("{inner}{of} (in `{lib}`)");
    }
    match o.kind {
        OwnerKind::Property | OwnerKind::ClassField => match &o.holder_name {
            Some(h) => format!("`{h}.{}`", o.name),
            None => format!("`{}.{}`", o.holder_class, o.name),
        },
        OwnerKind::Global if o.edge.is_some() && o.holder_class.starts_with("Window") => {
            format!("`window.{}` (a global)", o.name)
        }
        OwnerKind::Global if o.edge.is_some() => format!("`globalThis.{}` (a global)", o.name),
        OwnerKind::Global => "the window".to_string(),
        OwnerKind::DomNode => format!("`{}`", o.name),
        OwnerKind::MapEntry => match &o.holder_name {
            Some(h) => format!("an entry of the Map `{h}.{}`", o.name),
            None => format!("an entry of the Map `{}`", o.name),
        },
        OwnerKind::ModuleVariable => format!("the module variable `{}`", o.name),
        OwnerKind::ClosureVariable => format!("the variable `{}`", o.name),
    }
}

/// What the reason and the fix are made of.
pub struct Words<'a> {
    pub verdict: &'a Verdict,
    pub owner: Option<&'a Owner>,
    /// The owner as the user's code names it ([`Owner::display_name`]).
    pub owner_name: Option<String>,
    /// The user's variable that holds a library owner.
    pub owner_entry: Option<String>,
    pub library: Option<&'a Library>,
    pub unit_class: &'a str,
    pub fn_name: Option<&'a str>,
    pub count: u64,
    pub retained: u64,
    pub ap_class: &'a str,
    pub code: Option<&'a str>,
    pub user_line: Option<String>,
}

fn plural(n: u64, one: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else if one.ends_with('s') || one.ends_with("sh") || one.ends_with("ch") {
        format!("{n} {one}es")
    } else if one.ends_with('y') && !one.ends_with("ey") {
        format!("{n} {}ies", &one[..one.len() - 1])
    } else if one.starts_with("Detached ") || one.contains(' ') && one.contains('<') {
        format!("{n} × {one}")
    } else {
        format!("{n} {one}s")
    }
}

/// The reason sentence.
pub fn reason(w: &Words<'_>) -> String {
    let v = w.verdict;
    let owner = w.owner.map(|o| {
        owner_text(
            o,
            w.owner_name.as_deref().unwrap_or(&o.name),
            w.owner_entry.as_deref(),
        )
    });
    let of_owner = owner
        .as_deref()
        .map(|o| format!(" of {o}"))
        .unwrap_or_default();
    let fname = w.fn_name.map(|n| format!(" (`{n}`)")).unwrap_or_default();
    // Named with the owner already when the owner lives in the library.
    let lib_owner = w
        .owner
        .is_some_and(|o| matches!(o.origin, Origin::Library(_)));
    let lib = w
        .library
        .filter(|_| !lib_owner)
        .map(|l| format!(" inside `{}` ({})", l.name, l.holder))
        .unwrap_or_default();
    let units = plural(w.count, &v.unit);
    let bytes = human_bytes(w.retained);
    match (v.pattern, v.api) {
        (Pattern::EventListener, Api::Reactive) => format!(
            "{units}{fname} to {} stay in its subscriber list{lib}: never unsubscribed, they keep {bytes} alive",
            owner.as_deref().unwrap_or("a stream")
        ),
        (Pattern::EventListener, Api::Logger) => format!(
            "{units}{lib} are created on every call, and each registers listeners on {}{} that are never removed; they keep {bytes} alive",
            owner.as_deref().unwrap_or("an event target"),
            v.event
                .as_deref()
                .map(|e| format!(" for '{e}'"))
                .unwrap_or_default()
        ),
        (Pattern::EventListener, Api::CallbackList) => format!(
            "{units}{fname} are added to {} on every call and never removed{lib}; they keep {bytes} alive",
            owner.as_deref().unwrap_or("a callback list")
        ),
        (Pattern::EventListener, _) => format!(
            "{units}{fname} are added to {}{} on every call and never removed{lib}; they keep {bytes} alive",
            owner.as_deref().unwrap_or("an event target"),
            v.event
                .as_deref()
                .map(|e| format!(" for '{e}'"))
                .unwrap_or_default()
        ),
        (Pattern::Timer, _) if w.unit_class == "Timeout" || w.unit_class == "Immediate" => {
            format!(
                "{units} ({}){fname} are started and never cleared: they stay in Node's timer list with their callbacks and what those capture ({bytes})",
                w.unit_class
            )
        }
        (Pattern::Timer, Api::DomTimer) => format!(
            "{units}{fname} are started (setInterval/setTimeout) and never cleared: the page's timer list (DOMTimer) keeps their callbacks and what those capture ({bytes})"
        ),
        (Pattern::Timer, Api::AnimationFrame) => format!(
            "{units}{fname} keep requesting the next frame (requestAnimationFrame) and are never cancelled: the page's animation controller keeps their callbacks and what those capture ({bytes})"
        ),
        (Pattern::Timer, _) => format!(
            "{} {} objects{fname} stay reachable from timers that keep rescheduling themselves (Timeout._onTimeout): {bytes}",
            w.count, w.unit_class
        ),
        (Pattern::UnclosedConnection, Api::Agent) => format!(
            "{units} ({}) stay open{lib}: an HTTP agent created per call keeps its keep-alive sockets ({bytes})",
            w.unit_class
        ),
        (Pattern::UnclosedConnection, _) => format!(
            "{units} ({}) are opened and never closed{}{lib}; they hold {bytes} and their OS handles",
            w.unit_class,
            owner.map(|o| format!(", held by {o}")).unwrap_or_default()
        ),
        (Pattern::DetachedDom, _) => format!(
            "{units} are removed from the document but still referenced from JavaScript{}: {bytes} of detached DOM",
            owner.map(|o| format!(" by {o}")).unwrap_or_default()
        ),
        (Pattern::Closure, _) => format!(
            "{} {} objects are reachable only through the captured scope (system / Context) of closure `{}`{of_owner}, created on every call ({bytes})",
            w.count,
            w.unit_class,
            w.fn_name.unwrap_or("(anonymous)")
        ),
        (Pattern::LargeDataset, _) => format!(
            "{} {} object(s) allocated in one burst retain {bytes} and stay reachable{}",
            w.count,
            w.unit_class,
            owner.map(|o| format!(" from {o}")).unwrap_or_default()
        ),
        (Pattern::UnboundedCollection, Api::ModuleCache) => format!(
            "{units} are loaded on every call and stay in Node's module cache (`require.cache`, and their parent's `module.children`) with their code and exports ({bytes})"
        ),
        (Pattern::UnboundedCollection, Api::Logger) => format!(
            "{} {} instances{lib} are created on every call and never closed; each keeps its transports and listeners ({bytes})",
            w.count, w.unit_class
        ),
        (Pattern::UnboundedCollection, _) => format!(
            "{units} ({}) accumulate in {}{lib} and are never removed ({bytes})",
            w.unit_class,
            owner
                .clone()
                .unwrap_or_else(|| format!("one {}", w.ap_class))
        ),
        _ => format!(
            "{} {} objects keep growing ({bytes}); no known pattern matches, the retainer path is the evidence",
            w.count, w.unit_class
        ),
    }
}

/// The fix, written for the API at hand.
pub fn suggestion(w: &Words<'_>) -> String {
    let v = w.verdict;
    let at = match (&w.user_line, w.code) {
        (Some(l), Some(c)) => format!(" Created at {l}: `{c}`."),
        (Some(l), None) => format!(" Created at {l}."),
        (None, Some(c)) => format!(" Created here: `{c}`."),
        (None, None) => String::new(),
    };
    let target = w.owner_name.clone();
    if let Some(u) = &v.undo {
        let detached = if v.pattern == Pattern::DetachedDom {
            " Then the removed elements it captured can be collected."
        } else {
            ""
        };
        return format!("{}{detached}{at}", undo_text(u, v, target.as_deref()));
    }
    let ev = v.event.as_deref().unwrap_or("event");
    let lib_note = w.library.map(|l| {
        format!(
            " The container is `{}` inside the library `{}`: use the library's own limit or cleanup (a maximum size, a TTL or expiry, closing what you create), or stop creating it per call.",
            l.holder, l.name
        )
    });
    let s = match v.api {
        Api::EventEmitter => format!(
            "Remove the listener when its owner is done: keep a reference to the handler and call `{}.off('{ev}', handler)` (or `removeListener`), or register it with `once('{ev}', handler)` if it should fire once. (`on` takes no `signal` option.){at}",
            target.as_deref().unwrap_or("emitter")
        ),
        Api::NodeEventTarget | Api::DomEventTarget => format!(
            "Remove the listener when its owner is done: `{}.removeEventListener({}, handler)` with the same handler, or pass `{{ signal }}` from an `AbortController` to `addEventListener` and call `abort()` on cleanup (or `{{ once: true }}`).{at}",
            target.as_deref().unwrap_or("target"),
            v.event
                .as_deref()
                .map(|e| format!("'{e}'"))
                .unwrap_or_else(|| "type".into())
        ),
        Api::Reactive => format!(
            "Unsubscribe: keep the `Subscription` that `subscribe()` returns and call `unsubscribe()` when the consumer is done, or end the subscription with `takeUntil(destroy$)` (or `take(1)`/`first()` for one value).{at}"
        ),
        Api::CallbackList => format!(
            "Remove the callback when its owner is done: have the registration return an unsubscribe function that deletes it from `{}`, and call it on cleanup.{at}",
            target.as_deref().unwrap_or("the list")
        ),
        Api::NodeTimer => format!(
            "Keep the timer handle and clear it when the work is done or its owner closes: `clearInterval(handle)` / `clearTimeout(handle)`; stop self-rescheduling timeouts with a condition; `handle.unref()` only keeps the process from waiting, it does not free the timer.{at}"
        ),
        Api::DomTimer => format!(
            "Keep the id that `setInterval`/`setTimeout` returns and call `clearInterval(id)`/`clearTimeout(id)` when the widget or view is removed.{at}"
        ),
        Api::AnimationFrame => format!(
            "Stop each animation frame loop when its widget or view goes away: keep the id that `requestAnimationFrame` returns and call `cancelAnimationFrame(id)`, or stop requesting the next frame once the element is no longer connected.{at}"
        ),
        Api::Agent => format!(
            "Create one `http.Agent` (or `https.Agent`) per upstream at module level and reuse it for every request, or call `agent.destroy()` when done: an agent per call keeps its keep-alive sockets open.{at}"
        ),
        Api::Socket => format!(
            "Close every connection on all paths: `socket.end()` (or `destroy()`) in `finally` and on errors, and `socket.setTimeout(ms, () => socket.destroy())` for idle ones.{at}"
        ),
        Api::PoolClient => format!(
            "Return every client on all paths: `client.release()` (or the pool's release) in `finally`, including early returns; prefer `pool.query()`, which releases by itself.{at}"
        ),
        Api::Logger => format!(
            "Create one logger per process (at module level) and reuse it; for per-request fields use `logger.child({{...}})`. A logger created per call keeps its transports and the listeners they register; if one must be created, `close()` it when done.{at}"
        ),
        Api::ModuleCache => format!(
            "Do not load a new module per call: Node's loader keeps every module it loads in `require.cache` (and in its parent's `module.children`) for the life of the process. Compile generated code once and keep it in a bounded cache (`new Function`, `vm.Script`), or after use `delete require.cache[require.resolve(file)]` and remove the module from `module.children`.{at}"
        ),
        Api::ClosureScope => format!(
            "Narrow what the closure{} captures: move large data out of the enclosing scope, set captured variables to `null` after use, and do not keep closures that reference the previous one.{at}",
            w.fn_name.map(|n| format!(" `{n}`")).unwrap_or_default()
        ),
        Api::MapLike | Api::SetLike | Api::ArrayLike | Api::ObjectLike => {
            if let Some(n) = &lib_note {
                format!("{}{at}", n.trim_start())
            } else {
                format!(
                    "Bound {}: evict entries (an LRU with a maximum size, or a TTL), delete entries when their owner ends, or key it with a `WeakMap`/`WeakSet` so entries die with their keys.{at}",
                    target
                        .as_deref()
                        .map(|t| format!("`{t}`"))
                        .unwrap_or_else(|| "the collection".into())
                )
            }
        }
        Api::Dataset => format!(
            "Do not keep the whole dataset{} in memory: stream or page through it, keep only the index you need, and drop the reference after use.{at}",
            target
                .as_deref()
                .map(|t| format!(" `{t}`"))
                .unwrap_or_default()
        ),
        Api::DetachedDom => format!(
            "Drop references to elements once they are removed from the page: clear or splice {} when re-rendering, set variables to `null`, and remove listeners that close over removed elements (a `WeakRef`/`WeakMap` for element caches).{at}",
            target
                .as_deref()
                .map(|t| format!("`{t}`"))
                .unwrap_or_else(|| "the array or cache that holds them".into())
        ),
        Api::Unknown => format!(
            "Follow the retainer path: find which long-lived object holds the growing set and why it is not released.{at}"
        ),
    };
    if let Some(n) = lib_note
        && !matches!(
            v.api,
            Api::MapLike | Api::SetLike | Api::ArrayLike | Api::ObjectLike
        )
        && matches!(v.pattern, Pattern::UnboundedCollection | Pattern::Unknown)
    {
        return format!("{s}{n}");
    }
    s
}

/// The fix when the objects' own classes offer the call that undoes the leak.
fn undo_text(u: &Undo, v: &Verdict, target: Option<&str>) -> String {
    let recv = |dflt: &str| u.receiver.clone().unwrap_or_else(|| dflt.to_string());
    match (u.method.as_str(), u.returned_by.as_deref()) {
        ("release", _) => format!(
            "Give every connection back to the pool on all paths: `{p}.release(resource)` in `finally` (or `{p}.destroy(resource)` when it is broken), including early returns and timeouts. A resource never released stays borrowed and open, and the pool opens another for the next call.",
            p = recv("pool")
        ),
        ("unsubscribe", Some(r)) => format!(
            "Keep the function that `{r}(...)` returns and call it (unsubscribe) when the subscriber goes away (its view is closed or unmounted, its request ends): until then {} keeps every callback and what it captures.",
            target.map_or("the list".to_string(), |t| format!("`{t}`"))
        ),
        ("removeEventListener", _) => format!(
            "Remove the listener when what it serves is removed: `{}.removeEventListener({}, handler)` with the same handler, or pass `{{ signal }}` from an `AbortController` to `addEventListener` and call `abort()` on cleanup.",
            recv("target"),
            v.event
                .as_deref()
                .map(|e| format!("'{e}'"))
                .unwrap_or_else(|| "type".into())
        ),
        ("cancelAnimationFrame", _) => "Stop the animation frame loop when its element is removed: keep the id that `requestAnimationFrame` returns and call `cancelAnimationFrame(id)` on cleanup (or stop requesting the next frame once `element.isConnected` is false): each pending callback keeps what it captures.".to_string(),
        ("unpipe", _) => format!(
            "The listeners belong to a `{}` created per call and piped into a long-lived stream: end it when done (`end()`), or `unpipe()` / `destroy()` it on every path, so that the pipe removes its listeners from the destination.",
            u.class
        ),
        (m, _) => format!(
            "Keep the `{}` and call its `{m}()` when what it serves goes away (the element is removed, the consumer is done): the object it is registered with keeps it and its callback until then.",
            u.class
        ),
    }
}

/// A fingerprint from what identifies the leak in any snapshot of the program: pattern,
/// owner, container, unit class, library.
pub fn fingerprint(
    pattern: Pattern,
    owner: Option<&Owner>,
    ap_class: &str,
    role: &str,
    unit_class: &str,
    library: Option<&Library>,
    event: Option<&str>,
) -> String {
    let mut h = 0xcbf29ce484222325u64;
    let mut add = |s: &str| {
        for b in s.bytes().chain(std::iter::once(0xff)) {
            h ^= b as u64;
            h = h.wrapping_mul(0x100000001b3);
        }
    };
    add(pattern.id());
    if let Some(o) = owner {
        add(&o.name);
        add(o.kind.id());
        add(&o.holder_class);
    }
    add(ap_class);
    add(role);
    add(unit_class);
    add(library.map_or("", |l| l.name.as_str()));
    add(event.unwrap_or(""));
    format!("{h:016x}")
}
