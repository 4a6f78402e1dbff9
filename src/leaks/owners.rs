//! Stage 4, owners: the named holder a developer recognises for an accumulation point.
//!
//! From the container, climb its retainers (not only the one on the shortest path):
//! through the structure of known shapes (an emitter's `_events` and its event name, a
//! Map's hash table, list links, a closure's context) up to the first name a developer
//! chose: a module or closure variable, a property of a long-lived object, a class field
//! (`#private` included), a property of the global object (`window.x`), a Map entry of a
//! named Map. Among retainers, long-lived ones win: reached from process-lifetime roots
//! before transient ones (handle scopes, stack slots of the running code), objects that
//! existed in the first snapshot before new ones, names before indexes.

use super::candidates::Candidates;
use super::shapes;
use crate::heap::HeapGraph;
use crate::heap::graph::ROOT;
use crate::heap::paths::{NO_PARENT, PathTree};
use crate::heap::source::{self, Origin, Script};
use std::collections::HashMap;

/// How the owner holds the container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OwnerKind {
    ModuleVariable,
    ClosureVariable,
    Property,
    ClassField,
    Global,
    MapEntry,
    DomNode,
}

impl OwnerKind {
    pub fn id(self) -> &'static str {
        match self {
            OwnerKind::ModuleVariable => "module-variable",
            OwnerKind::ClosureVariable => "closure-variable",
            OwnerKind::Property => "property",
            OwnerKind::ClassField => "class-field",
            OwnerKind::Global => "global",
            OwnerKind::MapEntry => "map-entry",
            OwnerKind::DomNode => "dom-node",
        }
    }
}

/// The owner of an accumulation point.
#[derive(Debug, Clone)]
pub struct Owner {
    /// The object holding the named reference (a context, an object, a Map, a DOM node).
    pub holder: u32,
    /// The named edge out of `holder` (`None` for a DOM node or global owning by itself).
    pub edge: Option<usize>,
    pub name: String,
    pub kind: OwnerKind,
    pub holder_class: String,
    /// The object the name refers to (an emitter, a Map, a store), whose structure leads
    /// to the container.
    pub target: u32,
    /// Edges from `target` down to the container, in order.
    pub structure: Vec<usize>,
    /// The event name when the structure is a listener map (`_events.<name>`).
    pub event: Option<String>,
    /// The script whose code holds the owner (its scope's functions, or its constructor).
    pub script: Option<String>,
    /// Where that script comes from: the user's code, a library, the runtime.
    pub origin: Origin,
    /// For an owner inside a library or the runtime: the nearest reference above it that
    /// the user's code holds (the variable that keeps the library object): (holder, edge).
    pub entry: Option<(u32, usize)>,
    /// For a property or field: the name the holder object itself goes by (the variable or
    /// property that holds it), as in `cartEvents` for `cartEvents.all`.
    pub holder_name: Option<String>,
}

/// Rank of a retainer, lower is better: tier, newer, name rank, off-path, depth.
type Rank = (u8, u8, u8, u8, u32);

/// Rank of a retainer: lower is better.
fn retainer_rank(
    g: &HeapGraph,
    tree: &PathTree,
    c: &Candidates,
    from: u32,
    e: usize,
    to: u32,
) -> Option<Rank> {
    let t = g.types;
    let ety = g.raw.edge_type[e];
    if ety == t.e_weak || from == to {
        return None;
    }
    let fty = g.node_type(from);
    if fty == t.n_code || fty == t.n_object_shape {
        return None;
    }
    let fi = from as usize;
    let reached = tree.depth[fi] != u32::MAX;
    let tier = if reached { tree.tier[fi] } else { 3 };
    let newer = u8::from(c.is_new(from));
    // A name a developer chose first; structure (list links, backing stores, internal
    // fields) ranks alike, and then the shortest path's own retainer wins.
    let name_rank = if ety == t.e_context || ety == t.e_property {
        let n = g.edge_name(e);
        // A method's receiver (`this`) and V8's own slots (`.result`) are no names either.
        let unnamed = ety == t.e_context && (n == "this" || n.starts_with('.'));
        u8::from(unnamed || shapes::is_structural_property(&n))
    } else if ety == t.e_element || ety == t.e_internal {
        1
    } else {
        2
    };
    let on_path = u8::from(tree.parent[to as usize] != from);
    Some((
        tier,
        newer,
        name_rank,
        on_path,
        if reached { tree.depth[fi] } else { u32::MAX },
    ))
}

fn best_retainer(g: &HeapGraph, tree: &PathTree, c: &Candidates, o: u32) -> Option<(u32, usize)> {
    let mut best: Option<(Rank, u32, usize)> = None;
    for ri in g.retainers(o) {
        let from = g.ret_node[ri];
        let e = g.ret_edge[ri] as usize;
        if let Some(r) = retainer_rank(g, tree, c, from, e, o)
            && best.as_ref().is_none_or(|b| r < b.0)
        {
            best = Some((r, from, e));
        }
    }
    best.map(|b| (b.1, b.2))
}

/// Whether a context is a module's (or a script's) top scope: its `previous` is not
/// another function context.
fn is_module_context(g: &HeapGraph, ctx: u32) -> bool {
    let prev = g
        .edges(ctx)
        .find(|&e| !g.edge_has_index(e) && g.edge_name(e) == "previous")
        .map(|e| g.raw.edge_to[e]);
    match prev {
        None => true,
        Some(p) => !shapes::is_context(g, p) || g.raw_name(p).contains("/ NativeContext"),
    }
}

/// Whether an object's class is a named class (not a plain object or a builtin).
fn is_class_instance(class: &str) -> bool {
    !(class.is_empty()
        || class == "Object"
        || class.starts_with('{')
        || class.starts_with('(')
        || class.starts_with("system / ")
        || matches!(
            class,
            "Array" | "Map" | "Set" | "WeakMap" | "WeakSet" | "Function" | "global"
        ))
}

/// A name a developer chose, held by `from` through `e`.
fn named(g: &HeapGraph, from: u32, e: usize, keyed_holder: bool) -> Option<(String, OwnerKind)> {
    let t = g.types;
    let ety = g.raw.edge_type[e];
    let name = g.edge_name(e);
    if name.is_empty() || name.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if ety == t.e_context {
        if name.starts_with('.') || name == "this" {
            return None;
        }
        let kind = if is_module_context(g, from) {
            OwnerKind::ModuleVariable
        } else {
            OwnerKind::ClosureVariable
        };
        return Some((name.into_owned(), kind));
    }
    if ety != t.e_property || shapes::is_structural_property(&name) || keyed_holder {
        return None;
    }
    let kind = if shapes::is_global_object(g, from) {
        OwnerKind::Global
    } else if name.starts_with('#') || is_class_instance(g.class_name(from)) {
        OwnerKind::ClassField
    } else {
        OwnerKind::Property
    };
    Some((name.into_owned(), kind))
}

/// The owner of the container `ap`. When the leaked units hang off the container by a
/// name (`role`: a variable of a scope, a property of an object), that name is the owner.
pub fn find(
    g: &HeapGraph,
    tree: &PathTree,
    c: &Candidates,
    scripts: &HashMap<u32, Script>,
    ap: u32,
    role: &str,
    rep: u32,
) -> Option<Owner> {
    let mut o = find_named(g, tree, c, ap, role, rep)?;
    o.script = script_of(g, scripts, o.holder, o.target);
    o.origin = o.script.as_deref().map_or(Origin::User, source::origin);
    if o.origin != Origin::User {
        o.entry = user_entry(g, tree, scripts, o.holder, &o.origin);
    }
    if matches!(
        o.kind,
        OwnerKind::Property | OwnerKind::ClassField | OwnerKind::MapEntry
    ) && let Some((from, e)) = best_retainer(g, tree, c, o.holder)
        && let Some((name, _)) = named(g, from, e, false)
    {
        o.holder_name = Some(name);
    }
    Some(o)
}

impl Owner {
    /// How the user's code names the owner: its own name, or for a runtime object the
    /// user holds, `variable.field` (`serviceLifetime.signal` for an AbortController's
    /// `#signal`).
    pub fn display_name(&self, g: &HeapGraph) -> String {
        match (&self.origin, self.entry) {
            (Origin::Runtime, Some((_, e))) if self.edge.is_some() => format!(
                "{}.{}",
                g.edge_name(e),
                self.name.strip_prefix('#').unwrap_or(&self.name)
            ),
            _ => self.name.clone(),
        }
    }
}

/// The script name of a node's position (closures: the function; objects: the constructor).
fn script_at(g: &HeapGraph, scripts: &HashMap<u32, Script>, o: u32) -> Option<String> {
    let [sid, _, _] = g.location(o)?;
    scripts.get(&sid).map(|s| s.name.clone())
}

/// When `o` is the `exports` of a CommonJS `Module`, that module's file name.
fn module_of_exports(g: &HeapGraph, o: u32) -> Option<String> {
    g.retainers(o).find_map(|ri| {
        let m = g.ret_node[ri];
        let e = g.ret_edge[ri] as usize;
        if g.class_name(m) != "Module" || g.edge_has_index(e) || g.edge_name(e) != "exports" {
            return None;
        }
        let f = source::child(g, m, "filename")?;
        (g.node_type_name(f) == "string" || g.node_type_name(f) == "concatenated string")
            .then(|| g.raw_name(f).to_string())
            .filter(|s| !s.is_empty())
    })
}

/// The script whose code holds `holder`: its own position, else the first function (in
/// id order) whose scope it is, else the position of what it holds.
pub fn script_of(
    g: &HeapGraph,
    scripts: &HashMap<u32, Script>,
    holder: u32,
    target: u32,
) -> Option<String> {
    if let Some(s) = script_at(g, scripts, holder) {
        return Some(s);
    }
    // A CommonJS module's `exports` object: the module's own file (Node's loader made
    // the object, but the names on it are the module's).
    if let Some(file) = module_of_exports(g, holder) {
        return Some(file);
    }
    let mut best: Option<(u32, String)> = None;
    for ri in g.retainers(holder) {
        let from = g.ret_node[ri];
        let e = g.ret_edge[ri] as usize;
        if g.node_type(from) == g.types.n_closure
            && g.edge_name(e) == "context"
            && let Some(s) = script_at(g, scripts, from)
            && best.as_ref().is_none_or(|b| g.id(from) < b.0)
        {
            best = Some((g.id(from), s));
        }
    }
    best.map(|b| b.1).or_else(|| script_at(g, scripts, target))
}

/// The nearest named reference above `holder` that the user's code holds (a variable or
/// property of the user's scripts) to an object of the owner's library, searched through
/// the retainers, nearest first; among equally near ones, the one on the shortest path.
fn user_entry(
    g: &HeapGraph,
    tree: &PathTree,
    scripts: &HashMap<u32, Script>,
    holder: u32,
    origin: &Origin,
) -> Option<(u32, usize)> {
    let mut frontier = vec![holder];
    let mut seen = std::collections::HashSet::new();
    seen.insert(holder);
    for _ in 0..12 {
        let mut found: Option<((u8, u32), u32, usize)> = None;
        let mut next = Vec::new();
        for &o in &frontier {
            for ri in g.retainers(o) {
                let from = g.ret_node[ri];
                let e = g.ret_edge[ri] as usize;
                let fty = g.node_type(from);
                if g.raw.edge_type[e] == g.types.e_weak
                    || fty == g.types.n_code
                    || fty == g.types.n_object_shape
                    || fty == g.types.n_synthetic
                    || tree.depth[from as usize] == u32::MAX
                {
                    continue;
                }
                // The user's variable must hold an object of the owner's library itself
                // (the cache, the subject, the memoized function), not something that
                // merely leads there (the server, the app).
                let target_origin = script_at(g, scripts, o).map(|s| source::origin(&s));
                if named(g, from, e, false).is_some() && target_origin.as_ref() == Some(origin) {
                    let s = script_of(g, scripts, from, o);
                    if s.as_deref()
                        .is_some_and(|s| source::origin(s) == Origin::User)
                    {
                        let rank = (
                            u8::from(tree.parent[o as usize] != from),
                            tree.depth[from as usize],
                        );
                        if found.as_ref().is_none_or(|f| rank < f.0) {
                            found = Some((rank, from, e));
                        }
                    }
                }
                if seen.len() < 4096 && seen.insert(from) {
                    next.push(from);
                }
            }
        }
        if let Some((_, from, e)) = found {
            return Some((from, e));
        }
        frontier = next;
    }
    None
}

fn find_named(
    g: &HeapGraph,
    tree: &PathTree,
    c: &Candidates,
    ap: u32,
    role: &str,
    rep: u32,
) -> Option<Owner> {
    if super::accumulation::is_named_role(role) && !shapes::is_structural_property(role) {
        // The edge out of the container on the representative's path.
        let mut cur = rep;
        let mut edge = None;
        for _ in 0..1_000_000 {
            let p = tree.parent[cur as usize];
            if p == NO_PARENT {
                break;
            }
            if p == ap {
                edge = Some(tree.parent_edge[cur as usize] as usize);
                break;
            }
            cur = p;
        }
        if let Some(e) = edge
            && let Some((name, kind)) = named(g, ap, e, false)
        {
            return Some(Owner {
                holder: ap,
                edge: Some(e),
                name,
                kind,
                holder_class: holder_label(g, ap),
                target: g.raw.edge_to[e],
                structure: Vec::new(),
                event: None,
                script: None,
                origin: Origin::User,
                entry: None,
                holder_name: None,
            });
        }
    }
    let mut cur = ap;
    let mut structure: Vec<usize> = Vec::new();
    let mut event: Option<String> = None;
    let mut via_map = false;
    for _ in 0..12 {
        if cur != ap && (shapes::is_dom_node(g, cur) || shapes::is_global_object(g, cur)) {
            structure.reverse();
            let global = shapes::is_global_object(g, cur) || g.raw_name(cur).starts_with("Window");
            return Some(Owner {
                holder: cur,
                edge: None,
                name: if global {
                    "window".into()
                } else if shapes::is_document_name(g.raw_name(cur)) {
                    "document".into()
                } else {
                    g.raw_name(cur).to_string()
                },
                kind: if global {
                    OwnerKind::Global
                } else {
                    OwnerKind::DomNode
                },
                holder_class: holder_label(g, cur),
                target: cur,
                structure,
                event,
                script: None,
                origin: Origin::User,
                entry: None,
                holder_name: None,
            });
        }
        if g.node_type(cur) == g.types.n_native && g.raw_name(cur).starts_with("Window") {
            structure.reverse();
            return Some(Owner {
                holder: cur,
                edge: None,
                name: "window".into(),
                kind: OwnerKind::Global,
                holder_class: holder_label(g, cur),
                target: cur,
                structure,
                event,
                script: None,
                origin: Origin::User,
                entry: None,
                holder_name: None,
            });
        }
        let (from, e) = best_retainer(g, tree, c, cur)?;
        if from == ROOT || g.node_type(from) == g.types.n_synthetic {
            return None;
        }
        let name = g.edge_name(e);
        // The event name of a listener map, and Map entries, are structure.
        let holder_is_listener_map = g
            .retainers(from)
            .any(|ri| shapes::is_listener_map_edge(&g.edge_name(g.ret_edge[ri] as usize)));
        if holder_is_listener_map && g.raw.edge_type[e] == g.types.e_property {
            event = Some(name.into_owned());
            structure.push(e);
            cur = from;
            continue;
        }
        if g.node_type(from) == g.types.n_array {
            // A backing store; a Map's or Set's hash table makes the container a Map entry.
            if g.retainers(from)
                .any(|ri| g.edge_name(g.ret_edge[ri] as usize) == "table")
            {
                via_map = true;
                // The entry's key sits in the slot before its value: for a listener map
                // (an EventTarget's, an emitter library's) it is the event name.
                if event.is_none()
                    && let Ok(k) = name.parse::<u32>()
                    && let Some(key) = g
                        .edges(from)
                        .find(|&x| g.edge_name(x) == k.wrapping_sub(1).to_string())
                        .map(|x| g.raw.edge_to[x])
                    && g.node_type(key) == g.types.n_string
                {
                    event = Some(g.raw_name(key).to_string());
                }
            }
            structure.push(e);
            cur = from;
            continue;
        }
        let keyed = !shapes::is_global_object(g, from) && g.edges(from).len() >= 64;
        if let Some((nm, kind)) = named(g, from, e, keyed) {
            structure.reverse();
            // The container is an entry of the Map the name refers to (not of a Map inside
            // some structure, like an EventTarget's listener map).
            let map_target = matches!(g.class_name(g.raw.edge_to[e]), "Map" | "Set" | "WeakMap");
            let kind = if via_map && map_target {
                OwnerKind::MapEntry
            } else {
                kind
            };
            return Some(Owner {
                holder: from,
                edge: Some(e),
                name: nm,
                kind,
                holder_class: holder_label(g, from),
                target: g.raw.edge_to[e],
                structure,
                event,
                script: None,
                origin: Origin::User,
                entry: None,
                holder_name: None,
            });
        }
        structure.push(e);
        cur = from;
    }
    None
}

/// For connections without a long-lived container (an agent created per call keeps its
/// sockets, and only they keep the agent): the pool property of the connection owner
/// (`Agent.freeSockets`) that holds `unit`, found through its retainers.
pub fn pool_owner(g: &HeapGraph, unit: u32, owner_classes: &[&str]) -> Option<Owner> {
    let mut frontier: Vec<(u32, Vec<usize>)> = vec![(unit, Vec::new())];
    let mut seen = std::collections::HashSet::new();
    seen.insert(unit);
    for _ in 0..4 {
        let mut next = Vec::new();
        for (o, below) in &frontier {
            for ri in g.retainers(*o) {
                let from = g.ret_node[ri];
                let e = g.ret_edge[ri] as usize;
                if g.raw.edge_type[e] == g.types.e_weak || !seen.insert(from) {
                    continue;
                }
                let mut chain = vec![e];
                chain.extend_from_slice(below);
                if owner_classes.contains(&g.class_name(from))
                    && g.raw.edge_type[e] == g.types.e_property
                {
                    let target = g.raw.edge_to[e];
                    return Some(Owner {
                        holder: from,
                        edge: Some(e),
                        name: g.edge_name(e).into_owned(),
                        kind: OwnerKind::ClassField,
                        holder_class: holder_label(g, from),
                        target,
                        structure: chain[1..].to_vec(),
                        event: None,
                        script: None,
                        origin: Origin::Runtime,
                        entry: None,
                        holder_name: None,
                    });
                }
                if next.len() < 256 {
                    next.push((from, chain));
                }
            }
        }
        frontier = next;
    }
    None
}

/// The holder's class as a developer reads it: a function's own name (`router`) rather
/// than `Function`.
fn holder_label(g: &HeapGraph, o: u32) -> String {
    let n = g.raw_name(o);
    if g.node_type(o) == g.types.n_closure && !n.is_empty() && n != "native_bind" {
        n.to_string()
    } else {
        g.class_name(o).to_string()
    }
}
