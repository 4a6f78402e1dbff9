//! Stage 6, location: the line of the user's code that creates the leak.
//!
//! In order of trust:
//! 1. a leaked closure's own position (V8 records where each function is defined: for a
//!    listener or a callback that is where it is created on every call);
//! 2. allocation stacks, when the snapshot carries them: the first frame in the user's code
//!    on the stack that allocated the units (past the library frames, so a container inside
//!    a dependency still gives the user's line that calls into it);
//! 3. the constructor of leaked instances of a user class;
//! 4. the declaration of the owner (`const cache = new Map()`, `this.items = ...`); for an
//!    unbounded collection this comes before 3: the container is the mistake;
//! 5. user closures among the leaked objects (a subscriber's callback), or holding the
//!    container (the handler that calls into a library), or on the retainer path.
//!
//! When the container lives in a dependency (`node_modules`, a vendor bundle), the library
//! and its holder are named, the line inside the library is given apart, and the user's
//! line is a user closure among the leaked objects (a subscriber's callback, a route's
//! handler) or the declaration of the user's variable that holds the library object (the
//! cache, the subject, the memoized function). Script names of every form are resolved
//! (`heap::source::file_path`).

use super::Pattern;
use super::classify::Verdict;
use super::owners::{Owner, OwnerKind};

use super::{Library, Location};
use crate::heap::HeapGraph;
use crate::heap::paths::PathTree;
use crate::heap::source::{self, Origin, Script};
use std::collections::HashMap;

/// Reads source text for a script path when the snapshot's copy is cut (from disk, say).
pub type SourceFn<'a> = &'a dyn Fn(&str) -> Option<String>;

/// Where the leak is, as found.
#[derive(Debug, Clone, Default)]
pub struct Located {
    pub location: Option<Location>,
    pub code: Option<String>,
    pub excerpt: Vec<String>,
    pub source: Option<&'static str>,
    pub library: Option<Library>,
    pub library_location: Option<Location>,
    /// The function name when the leaked units are functions.
    pub name: Option<String>,
}

/// What location needs to know about one group.
pub struct Target<'a> {
    pub rep: u32,
    pub units: &'a [u32],
    pub members: &'a [u32],
    pub unit_class: &'a str,
    pub owner: Option<&'a Owner>,
    pub verdict: &'a Verdict,
    pub ap: u32,
    /// Holders on the retainer path, root first.
    pub path_holders: &'a [u32],
}

pub struct Locator<'a> {
    pub g: &'a HeapGraph,
    pub tree: &'a PathTree,
    pub scripts: &'a HashMap<u32, Script>,
    pub sources: SourceFn<'a>,
}

/// A position: script (id or name), 1-based line and column.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct Pos {
    script: String,
    line: u32,
    column: u32,
}

impl Locator<'_> {
    fn script_name(&self, sid: u32) -> Option<&str> {
        self.scripts.get(&sid).map(|s| s.name.as_str())
    }

    /// The position of a closure (its definition) or an object (its constructor).
    fn pos(&self, o: u32) -> Option<Pos> {
        let [sid, line, col] = self.g.location(o)?;
        let name = self.script_name(sid)?;
        Some(Pos {
            script: name.to_string(),
            line: line + 1,
            column: col + 1,
        })
    }

    fn origin_of(&self, o: u32) -> Option<Origin> {
        self.pos(o).map(|p| source::origin(&p.script))
    }

    fn user_pos(&self, o: u32) -> Option<Pos> {
        self.pos(o)
            .filter(|p| source::origin(&p.script) == Origin::User)
    }

    /// Full text of a script: from disk when the snapshot's copy is cut or is only a
    /// page's inline script; else the snapshot's.
    fn text(&self, script: &str) -> Option<String> {
        let snap = self
            .scripts
            .values()
            .find(|s| s.name == script)
            .and_then(|s| s.source.clone());
        let path = source::file_path(script);
        let partial = source::positions_in_page(script)
            || snap.as_ref().is_none_or(|t| t.chars().count() >= 1024);
        if partial && let Some(full) = (self.sources)(&path) {
            return Some(full);
        }
        if source::positions_in_page(script) {
            return None;
        }
        // A copy cut at 1024 characters ends inside a line: keep whole lines only.
        snap.map(|t| {
            if t.chars().count() >= 1024 {
                match t.rfind('\n') {
                    Some(k) => t[..k].to_string(),
                    None => String::new(),
                }
            } else {
                t
            }
        })
    }

    fn located(&self, p: &Pos) -> (Location, Option<String>, Vec<String>) {
        let loc = Location {
            file: source::file_path(&p.script),
            line: p.line,
            column: p.column,
        };
        match self.text(&p.script) {
            Some(t) => (
                loc,
                source::line_text(&t, p.line),
                source::excerpt(&t, p.line, 2, 2),
            ),
            None => (loc, None, Vec::new()),
        }
    }

    /// The user function a library wrapper stands for (`once` wrappers, bound functions).
    fn unwrap_fn(&self, f: u32) -> Option<u32> {
        if self.user_pos(f).is_some() {
            return Some(f);
        }
        let g = self.g;
        for name in [
            "listener",
            "bound_target_function",
            "callback",
            "fn",
            "handler",
        ] {
            if let Some(x) = source::child(g, f, name)
                && g.node_type(x) == g.types.n_closure
                && let Some(y) = self.unwrap_fn(x)
            {
                return Some(y);
            }
        }
        if let Some(bt) = source::child(g, f, "bound_this")
            && let Some(l) = source::child(g, bt, "listener")
            && self.user_pos(l).is_some()
        {
            return Some(l);
        }
        self.user_closure_near(f, 2)
    }

    /// The first closure with a user position within a few hops of `from`.
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
                    if tty == g.types.n_closure && self.user_pos(to).is_some() {
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
                .min_by_key(|&&c| (self.user_pos(c), self.g.id(c)))
            {
                return Some(best);
            }
            cur = next;
        }
        None
    }

    /// The most frequent position of user closures among the leaked objects.
    fn member_closure(&self, t: &Target<'_>) -> Option<Pos> {
        let g = self.g;
        let mut votes: HashMap<Pos, u32> = HashMap::new();
        for &m in t.members.iter().take(20_000) {
            if g.node_type(m) == g.types.n_closure
                && let Some(p) = self.user_pos(m)
            {
                *votes.entry(p).or_default() += 1;
            }
        }
        votes
            .into_iter()
            .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)))
            .map(|x| x.0)
    }

    /// Declaration of `name` in `script` (else in any user script when `script` is None).
    fn declaration(&self, script: Option<&str>, name: &str, near: Option<u32>) -> Option<Pos> {
        let mut order: Vec<String> = Vec::new();
        if let Some(s) = script {
            order.push(s.to_string());
        } else {
            let mut rest: Vec<(u32, &str)> = self
                .scripts
                .iter()
                .filter(|(_, s)| source::origin(&s.name) == Origin::User)
                .map(|(&k, s)| (k, s.name.as_str()))
                .collect();
            rest.sort_unstable();
            order.extend(rest.into_iter().map(|x| x.1.to_string()));
        }
        for sc in order {
            if let Some(text) = self.text(&sc)
                && let Some(line) = source::declaration_line(&text, name, near)
            {
                return Some(Pos {
                    script: sc,
                    line,
                    column: 1,
                });
            }
        }
        None
    }

    /// The first user frame of the allocation stacks of the units (most frequent wins).
    fn allocation_site(&self, t: &Target<'_>) -> Option<(Pos, Option<Pos>)> {
        let g = self.g;
        let raw = &g.raw;
        if raw.node_trace.is_empty() || raw.alloc.is_empty() {
            return None;
        }
        let mut votes: HashMap<(Pos, Option<Pos>), u32> = HashMap::new();
        for &u in t.units.iter().take(256) {
            let Some(&tid) = raw.node_trace.get(u as usize) else {
                continue;
            };
            if tid == 0 {
                continue;
            }
            let stack = raw.alloc.stack(tid);
            let mut lib: Option<Pos> = None;
            for f in &stack {
                let script = raw.strings.get(f.script_name);
                let pos = Pos {
                    script: script.to_string(),
                    line: f.line,
                    column: f.column,
                };
                match source::origin(script) {
                    Origin::User if f.line > 0 => {
                        *votes.entry((pos, lib.clone())).or_default() += 1;
                        break;
                    }
                    Origin::Library(_) if lib.is_none() && f.line > 0 => lib = Some(pos),
                    _ => {}
                }
            }
        }
        votes
            .into_iter()
            .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)))
            .map(|x| x.0)
    }

    /// Finds the location of one group.
    pub fn locate(&self, t: &Target<'_>) -> Located {
        let g = self.g;
        let mut out = Located::default();
        let unit_is_fn = g.node_type(t.rep) == g.types.n_closure;
        let focus = t.verdict.focus.or(unit_is_fn.then_some(t.rep));
        let focus_user = focus.and_then(|f| self.unwrap_fn(f));
        if let Some(f) = focus_user
            .or(focus)
            .filter(|&f| g.node_type(f) == g.types.n_closure)
        {
            let n = g.raw_name(f);
            if !n.is_empty() && n != "native_bind" {
                out.name = Some(n.to_string());
            }
        }
        // The library the container lives in.
        let owner_script = t.owner.and_then(|o| o.script.clone());
        let lib_of = |s: &str| match source::origin(s) {
            Origin::Library(p) => Some(p),
            _ => None,
        };
        let mut library = owner_script.as_deref().and_then(lib_of);
        if library.is_none() && t.owner.is_none() {
            library = self
                .origin_of(t.ap)
                .or_else(|| self.origin_of(t.rep))
                .and_then(|o| match o {
                    Origin::Library(p) => Some(p),
                    _ => None,
                });
        }
        if let Some(pkg) = &library {
            let holder = match t.owner {
                Some(o) => match o.kind {
                    OwnerKind::Property | OwnerKind::ClassField | OwnerKind::MapEntry => {
                        format!("{}.{}", o.holder_class, o.name)
                    }
                    _ => o.name.clone(),
                },
                None => g.class_name(t.ap).to_string(),
            };
            out.library = Some(Library {
                name: pkg.clone(),
                holder,
            });
            let lib_pos = t
                .owner
                .and_then(|o| self.declaration(owner_script.as_deref(), &o.name, None))
                .or_else(|| self.pos(t.ap))
                .or_else(|| t.owner.and_then(|o| self.pos(o.target)));
            if let Some(p) = lib_pos {
                out.library_location = Some(self.located(&p).0);
            }
        }
        let mut found: Option<(Pos, &'static str)> = None;
        // 1. The leaked closure's own position.
        if let Some(f) = focus_user
            && let Some(p) = self.user_pos(f)
        {
            found = Some((p, "function"));
        }
        // 2. Allocation stacks.
        if found.is_none()
            && let Some((p, lib_frame)) = self.allocation_site(t)
        {
            if out.library_location.is_none()
                && library.is_some()
                && let Some(lp) = lib_frame
            {
                out.library_location = Some(self.located(&lp).0);
            }
            found = Some((p, "allocation-stack"));
        }
        // 4. The owner's declaration, in the user's code (before the units' constructor
        // for a collection: the mistake is the container that is never bounded, not the
        // class of what it holds).
        let declared_first = t.verdict.pattern == Pattern::UnboundedCollection;
        let declared = || -> Option<Pos> {
            if library.is_some() {
                return None;
            }
            let o = t.owner?;
            let user_script = owner_script
                .as_deref()
                .filter(|s| source::origin(s) == Origin::User);
            let near = self.user_pos(o.holder).map(|p| p.line);
            match (&owner_script, user_script) {
                (Some(_), Some(s)) => self.declaration(Some(s), &o.name, near),
                (None, _) => self.declaration(None, &o.name, near),
                _ => None,
            }
        };
        if found.is_none() && declared_first {
            found = declared().map(|p| (p, "declaration"));
        }
        // 3. Instances of a user class.
        if found.is_none()
            && let Some(p) = t
                .units
                .iter()
                .take(64)
                .filter(|&&u| g.node_type(u) == g.types.n_object)
                .find_map(|&u| self.user_pos(u))
        {
            found = Some((p, "constructor"));
        }
        if found.is_none() && !declared_first {
            found = declared().map(|p| (p, "declaration"));
        }
        // 4b. For a container inside a library: user closures among the leaked objects
        // (a subscriber's callback, a route's handler), else the user's variable that holds
        // the library object.
        if found.is_none() && library.is_some() {
            found = self.member_closure(t).map(|p| (p, "leaked-closure"));
            if found.is_none()
                && let Some(o) = t.owner
                && let Some((h, e)) = o.entry
            {
                let name = g.edge_name(e);
                let script = super::owners::script_of(g, self.scripts, h, g.raw.edge_to[e]);
                let near = self.user_pos(h).map(|p| p.line);
                if let Some(p) = self.declaration(script.as_deref(), &name, near) {
                    found = Some((p, "declaration"));
                }
            }
        }
        // 5. User closures among the leaked objects, then holding the container.
        if found.is_none() {
            if let Some(p) = self.member_closure(t) {
                found = Some((p, "leaked-closure"));
            } else if let Some(f) = self.user_closure_near(t.rep, 4) {
                found = self.user_pos(f).map(|p| (p, "leaked-closure"));
            }
        }
        if found.is_none() {
            // Nearest user-located holder above the container.
            for &h in t.path_holders.iter().rev() {
                if let Some(p) = self.user_pos(h) {
                    found = Some((p, "retainer-path"));
                    break;
                }
            }
        }
        if let Some((p, how)) = found {
            let (loc, code, excerpt) = self.located(&p);
            out.location = Some(loc);
            out.code = code;
            out.excerpt = excerpt;
            out.source = Some(how);
        }
        out
    }
}
