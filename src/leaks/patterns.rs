//! Leak pattern classifier (DESIGN.md, "Leak patterns") and the source location that owns
//! the leak, both read from heap structure: Node's own object shapes (`_events` of an
//! EventEmitter, `Timeout._onTimeout` in a timer list, `TCP` handles behind sockets),
//! closure contexts created per call, collections that hold the leaked objects. User-chosen
//! names never decide the pattern; they only name the variable in the report.

use super::analyze::{Group, SourceFn};
use super::{Location, Pattern};
use crate::heap::HeapGraph;
use crate::heap::paths::PathTree;
use crate::heap::source::{self, Script};
use std::collections::HashMap;

/// Everything the classifier may look at for one group.
pub struct Context<'a> {
    pub g: &'a HeapGraph,
    pub tree: &'a PathTree,
    pub group: &'a Group,
    /// The representative leaked object (shortest path).
    pub rep: u32,
    pub is_new: &'a [bool],
    pub count: u64,
    pub retained: u64,
    pub sources: SourceFn<'a>,
    pub scripts: &'a HashMap<u32, Script>,
}

pub struct Classification {
    pub pattern: Pattern,
    pub reason: String,
    pub location: Option<Location>,
    pub code: Option<String>,
    pub excerpt: Vec<String>,
    pub suggestion: String,
}

/// Node's handle-owning classes: a growing number of these is a connection leak.
const HANDLE_CLASSES: &[&str] = &[
    "TCP",
    "Pipe",
    "TLSWrap",
    "TTY",
    "UDP",
    "Socket",
    "TLSSocket",
    "JSStreamSocket",
    "ClientRequest",
    "Http2Session",
];
const TIMER_CLASSES: &[&str] = &["Timeout", "Immediate", "TimersList", "ImmediateList"];
const COLLECTION_CLASSES: &[&str] = &["Map", "Set", "Array", "Object", "WeakMap", "WeakSet"];

/// A step of the representative's path: (holder, edge index, target).
type Step = (u32, usize, u32);

fn path_steps(ctx: &Context<'_>, o: u32) -> Vec<Step> {
    ctx.tree
        .edges_to(o)
        .into_iter()
        .map(|e| {
            let to = ctx.g.raw.edge_to[e as usize];
            (ctx.tree.parent[to as usize], e as usize, to)
        })
        .collect()
}

impl Context<'_> {
    fn class(&self, o: u32) -> &str {
        self.g.class_name(o)
    }

    /// A user-code location of a node (closures: the function; objects: the constructor).
    fn user_loc(&self, o: u32) -> Option<(u32, u32, u32)> {
        let [sid, line, col] = self.g.location(o)?;
        let s = self.scripts.get(&sid)?;
        source::is_user_script(&s.name).then_some((sid, line, col))
    }

    /// Full source of a script: the snapshot's copy if it is whole, else the caller's.
    fn source_text(&self, sid: u32) -> Option<String> {
        let s = self.scripts.get(&sid)?;
        let snap = s.source.as_deref();
        let cut = snap.is_none_or(|t| t.chars().count() >= 1024);
        if cut && let Some(full) = (self.sources)(source::file_path(&s.name)) {
            return Some(full);
        }
        snap.map(str::to_string)
    }

    fn located(
        &self,
        sid: u32,
        line1: u32,
        col1: u32,
    ) -> (Option<Location>, Option<String>, Vec<String>) {
        let Some(s) = self.scripts.get(&sid) else {
            return (None, None, Vec::new());
        };
        let loc = Location {
            file: source::file_path(&s.name).to_string(),
            line: line1,
            column: col1,
        };
        match self.source_text(sid) {
            Some(text) => (
                Some(loc),
                source::line_text(&text, line1),
                source::excerpt(&text, line1, 2, 2),
            ),
            None => (Some(loc), None, Vec::new()),
        }
    }

    fn at_node(&self, o: u32) -> Option<(Option<Location>, Option<String>, Vec<String>)> {
        let (sid, line, col) = self.user_loc(o)?;
        Some(self.located(sid, line + 1, col + 1))
    }

    /// First closure with a user location reachable from `from` within a few hops.
    fn user_closure_near(&self, from: u32, max_hops: u32) -> Option<u32> {
        let g = self.g;
        let mut seen = std::collections::HashSet::new();
        let mut cur = vec![from];
        seen.insert(from);
        for _ in 0..max_hops {
            let mut next = Vec::new();
            let mut found: Vec<u32> = Vec::new();
            for &o in &cur {
                for e in g.edges(o) {
                    if g.raw.edge_type[e] == g.types.e_weak {
                        continue;
                    }
                    let to = g.raw.edge_to[e];
                    let tty = g.node_type(to);
                    if tty == g.types.n_code || tty == g.types.n_object_shape {
                        continue;
                    }
                    let name = g.edge_name(e);
                    if name == "__proto__" || name == "map" || name == "constructor" {
                        continue;
                    }
                    if !seen.insert(to) {
                        continue;
                    }
                    if tty == g.types.n_closure && self.user_loc(to).is_some() {
                        found.push(to);
                    }
                    if seen.len() > 4000 {
                        return None;
                    }
                    next.push(to);
                }
            }
            // Of the closures at the nearest depth, the first in the source: the handler
            // written right after the code that opened the resource.
            if let Some(&best) = found
                .iter()
                .min_by_key(|&&c| (self.user_loc(c).map(|(s, l, c)| (l, c, s)), self.g.id(c)))
            {
                return Some(best);
            }
            cur = next;
        }
        None
    }

    /// The script whose code holds `holder`: a closure using a context, or a located object.
    fn owner_script(&self, holder: u32) -> Option<u32> {
        let g = self.g;
        if let Some((sid, _, _)) = self.user_loc(holder) {
            return Some(sid);
        }
        for ri in g.retainers(holder) {
            let from = g.ret_node[ri];
            let e = g.ret_edge[ri] as usize;
            if g.node_type(from) == g.types.n_closure
                && g.edge_name(e) == "context"
                && let Some((sid, _, _)) = self.user_loc(from)
            {
                return Some(sid);
            }
        }
        None
    }

    /// Declaration of `name` in the script owning `holder` (or any user script).
    fn declaration(&self, holder: u32, name: &str, near: Option<u32>) -> Option<(u32, u32)> {
        let mut order: Vec<u32> = Vec::new();
        if let Some(s) = self.owner_script(holder) {
            order.push(s);
        }
        let mut rest: Vec<u32> = self
            .scripts
            .iter()
            .filter(|(_, s)| source::is_user_script(&s.name))
            .map(|(&k, _)| k)
            .collect();
        rest.sort_unstable();
        order.extend(rest);
        for sid in order {
            if let Some(text) = self.source_text(sid)
                && let Some(line) = source::declaration_line(&text, name, near)
            {
                return Some((sid, line));
            }
        }
        None
    }
}

fn is_named_edge(g: &HeapGraph, e: usize) -> bool {
    let t = g.types;
    let ty = g.raw.edge_type[e];
    (ty == t.e_property || ty == t.e_context) && !g.edge_name(e).bytes().all(|b| b.is_ascii_digit())
}

pub fn classify(ctx: &Context<'_>) -> Classification {
    let g = ctx.g;
    let grp = ctx.group;
    let steps = path_steps(ctx, ctx.rep);
    let anchor_pos = steps
        .iter()
        .position(|s| s.0 == grp.anchor)
        .unwrap_or(steps.len().saturating_sub(1));
    let below = &steps[anchor_pos.min(steps.len())..];
    let top = ctx.rep;
    let top_class = ctx.class(top).to_string();

    // 1. Timers: Node's timer objects on the path or leaking themselves.
    let timer_holder = steps
        .iter()
        .rev()
        .find(|s| TIMER_CLASSES.contains(&ctx.class(s.0)))
        .map(|s| s.0);
    if TIMER_CLASSES.contains(&top_class.as_str()) || timer_holder.is_some() {
        let cb = if top_class == "Timeout" || top_class == "Immediate" {
            source::child(g, top, "_onTimeout").or_else(|| source::child(g, top, "_onImmediate"))
        } else if g.node_type(top) == g.types.n_closure {
            Some(top)
        } else {
            timer_holder.and_then(|t| source::child(g, t, "_onTimeout"))
        };
        let (location, code, excerpt) = cb.and_then(|c| ctx.at_node(c)).unwrap_or_default();
        let what = if top_class == "Timeout" || top_class == "Immediate" {
            format!(
                "{} {} objects stay in Node's timer list",
                ctx.count, top_class
            )
        } else {
            format!(
                "{} {} objects are kept alive by timers that keep rescheduling (Timeout._onTimeout)",
                ctx.count, top_class
            )
        };
        return Classification {
            pattern: Pattern::Timer,
            reason: format!(
                "{what}; timers are never cleared, so their callbacks and everything they capture stay reachable"
            ),
            suggestion: suggestion(Pattern::Timer, code.as_deref(), None),
            location,
            code,
            excerpt,
        };
    }

    // 2. Event listeners: reached through an emitter's `_events` (or EventTarget's kEvents).
    let events_step = steps.iter().rev().find(|s| {
        let n = g.edge_name(s.1);
        n == "_events" || n.contains("kEvents")
    });
    if let Some(ev) = events_step {
        // The event name is the property under `_events`.
        let ev_pos = steps.iter().position(|s| s.1 == ev.1).unwrap_or(0);
        let event = steps
            .get(ev_pos + 1)
            .filter(|s| is_named_edge(g, s.1))
            .map(|s| g.edge_name(s.1).into_owned());
        let emitter = ctx.class(ev.0).to_string();
        // The listener: the leaked function, unwrapped from `once`/bind wrappers.
        let mut listener = if g.node_type(top) == g.types.n_closure {
            Some(top)
        } else {
            steps[ev_pos..]
                .iter()
                .map(|s| s.2)
                .find(|&o| g.node_type(o) == g.types.n_closure)
        };
        if let Some(l) = listener
            && ctx.user_loc(l).is_none()
        {
            listener = source::child(g, l, "listener")
                .filter(|&x| ctx.user_loc(x).is_some())
                .or_else(|| ctx.user_closure_near(l, 2));
        }
        let (location, code, excerpt) = listener.and_then(|l| ctx.at_node(l)).unwrap_or_default();
        let ev_text = event.as_deref().unwrap_or("?");
        return Classification {
            pattern: Pattern::EventListener,
            reason: format!(
                "{} {} objects are listeners registered on {emitter}._events.{ev_text} and never removed",
                ctx.count, top_class
            ),
            suggestion: suggestion(Pattern::EventListener, code.as_deref(), event.as_deref()),
            location,
            code,
            excerpt,
        };
    }

    // 3. Connections: sockets or handles among the leaked objects.
    let handle = std::iter::once(top)
        .chain(grp.members.iter().copied().take(400))
        .find(|&m| {
            HANDLE_CLASSES.contains(&ctx.class(m)) || ctx.class(m).starts_with("Node / TCP")
        });
    if let Some(h) = handle {
        let owner = if ctx.user_loc(top).is_some() {
            Some(top)
        } else {
            ctx.user_closure_near(top, 7)
        };
        let (location, code, excerpt) = owner.and_then(|o| ctx.at_node(o)).unwrap_or_default();
        return Classification {
            pattern: Pattern::UnclosedConnection,
            reason: format!(
                "{} {} objects hold open {} handles that are never closed or released",
                ctx.count,
                top_class,
                ctx.class(h)
            ),
            suggestion: suggestion(Pattern::UnclosedConnection, code.as_deref(), None),
            location,
            code,
            excerpt,
        };
    }

    // 4. Closures: data kept through the context of a closure created after the baseline.
    let closure_step = |steps: &[Step]| -> Option<u32> {
        steps.windows(2).rev().find_map(|w| {
            let (f, e, c) = w[0];
            let (_, e2, _) = w[1];
            (g.node_type(f) == g.types.n_closure
                && g.edge_name(e) == "context"
                && g.raw_name(c) == "system / Context"
                && ctx.is_new[c as usize]
                && g.raw.edge_type[e2] == g.types.e_context)
                .then_some(f)
        })
    };
    let mut closure_fn = closure_step(below);
    if closure_fn.is_none() {
        for &m in grp.members.iter().filter(|&&m| m != top).take(5) {
            let s = path_steps(ctx, m);
            let p = s.iter().position(|x| x.0 == grp.anchor).unwrap_or(0);
            if let Some(f) = closure_step(&s[p..]) {
                closure_fn = Some(f);
                break;
            }
        }
    }
    if let Some(f) = closure_fn {
        let (location, code, excerpt) = ctx.at_node(f).unwrap_or_default();
        let fname = g.raw_name(f).to_string();
        return Classification {
            pattern: Pattern::Closure,
            reason: format!(
                "{} {} objects are reachable only through the captured scope (system / Context) of closure `{}` created on every call",
                ctx.count,
                top_class,
                if fname.is_empty() {
                    "(anonymous)"
                } else {
                    &fname
                }
            ),
            suggestion: suggestion(Pattern::Closure, code.as_deref(), Some(&fname)),
            location,
            code,
            excerpt,
        };
    }

    // The name of the variable or property holding the leaked data.
    let named_before = |pos: usize| -> Option<(u32, String)> {
        steps[..pos]
            .iter()
            .rev()
            .find(|s| is_named_edge(g, s.1))
            .map(|s| (s.0, g.edge_name(s.1).into_owned()))
    };
    let near_line = |holder: u32| ctx.user_loc(holder).map(|(_, l, _)| l + 1);
    let declared = |holder: u32, name: &str| {
        ctx.declaration(holder, name, near_line(holder))
            .map(|(sid, line)| ctx.located(sid, line, 1))
    };

    // 5. Large datasets: few objects retaining a lot.
    if ctx.retained >= (1 << 20) && ctx.count <= 16 {
        let top_pos = steps.len();
        let holder_name = named_before(top_pos);
        let (location, code, excerpt) = holder_name
            .as_ref()
            .and_then(|(h, n)| declared(*h, n))
            .or_else(|| ctx.at_node(top))
            .unwrap_or_default();
        let var = holder_name.map(|x| x.1);
        return Classification {
            pattern: Pattern::LargeDataset,
            reason: format!(
                "{} {} object(s) allocated in one burst retain {} bytes and stay reachable{}",
                ctx.count,
                top_class,
                ctx.retained,
                var.as_deref()
                    .map(|v| format!(" through `{v}`"))
                    .unwrap_or_default()
            ),
            suggestion: suggestion(Pattern::LargeDataset, code.as_deref(), var.as_deref()),
            location,
            code,
            excerpt,
        };
    }

    // 6. Unbounded collections: the leak accumulates in one long-lived container.
    let anchor_class = ctx.class(grp.anchor).to_string();
    let into_anchor = steps.iter().position(|s| s.2 == grp.anchor);
    let first_below = below.first();
    let indexed = first_below.is_some_and(|s| !is_named_edge(g, s.1) || g.edges(s.0).len() >= 64);
    let is_collection = COLLECTION_CLASSES.contains(&anchor_class.as_str())
        || anchor_class.starts_with('{')
        || g.edges(grp.anchor).len() >= 64
        || indexed;
    if is_collection && grp.anchor != crate::heap::graph::ROOT {
        let coll = into_anchor.and_then(|p| named_before(p + 1));
        let (location, code, excerpt) = coll
            .as_ref()
            .and_then(|(h, n)| declared(*h, n))
            .or_else(|| ctx.at_node(grp.anchor))
            .unwrap_or_default();
        let name = coll.map(|c| c.1);
        return Classification {
            pattern: Pattern::UnboundedCollection,
            reason: format!(
                "{} {} objects accumulate in one {anchor_class}{} that is never trimmed",
                ctx.count,
                top_class,
                name.as_deref()
                    .map(|n| format!(" (`{n}`)"))
                    .unwrap_or_default()
            ),
            suggestion: suggestion(
                Pattern::UnboundedCollection,
                code.as_deref(),
                name.as_deref(),
            ),
            location,
            code,
            excerpt,
        };
    }

    // 7. Unknown: the first user location on the leaked object or its path.
    let (location, code, excerpt) = std::iter::once(top)
        .chain(steps.iter().rev().map(|s| s.0))
        .find_map(|o| ctx.at_node(o))
        .unwrap_or_default();
    Classification {
        pattern: Pattern::Unknown,
        reason: format!(
            "{} {} objects keep growing; no known pattern matches, the retainer path is the evidence",
            ctx.count, top_class
        ),
        suggestion: suggestion(Pattern::Unknown, code.as_deref(), None),
        location,
        code,
        excerpt,
    }
}

/// The fix, in the report's wording, made specific with the code and names found.
pub fn suggestion(p: Pattern, code: Option<&str>, name: Option<&str>) -> String {
    let at = code.map(|c| format!(" (`{c}`)")).unwrap_or_default();
    match p {
        Pattern::EventListener => format!(
            "Remove the listener when its owner is done: keep a reference to the handler and call \
             `emitter.off('{}', handler)` (or `removeListener`), register it with `once` if it should \
             fire once, or pass an `AbortSignal` and abort it on cleanup. The listener is added on every call here{at}.",
            name.unwrap_or("event")
        ),
        Pattern::Timer => format!(
            "Keep the timer handle and clear it: `clearInterval(handle)` / `clearTimeout(handle)` when \
             the work is done or the owner is closed; stop rescheduling chains with a flag; use \
             `handle.unref()` for timers that must not keep the process alive. Timer started here{at}."
        ),
        Pattern::Closure => format!(
            "Narrow what the closure{} captures: move large data out of the enclosing scope, null out \
             captured variables after use (`x = null`), and do not chain closures that reference the \
             previous one. Closure defined here{at}.",
            name.filter(|n| !n.is_empty())
                .map(|n| format!(" `{n}`"))
                .unwrap_or_default()
        ),
        Pattern::UnclosedConnection => format!(
            "Close every connection on all paths: `socket.destroy()` / `end()` in `finally`, release \
             pool clients with `client.release()` in `finally`, and set idle timeouts. Connection \
             owned here{at}."
        ),
        Pattern::UnboundedCollection => format!(
            "Bound `{}`: evict entries (an LRU with a maximum size, or a TTL), delete entries when \
             their owner ends, or key it with a `WeakMap`/`WeakSet` so entries die with their keys. \
             Declared here{at}.",
            name.unwrap_or("the collection")
        ),
        Pattern::LargeDataset => format!(
            "Do not keep the whole dataset{} in memory: stream or chunk it (streams, async \
             generators, pagination), keep only the index you need, and drop the reference after use. \
             Loaded here{at}.",
            name.map(|n| format!(" `{n}`")).unwrap_or_default()
        ),
        Pattern::Unknown => format!(
            "Follow the retainer path: find which long-lived object holds the growing set and why it \
             is not released; add a test that the count stays flat under repeated requests{at}."
        ),
    }
}
