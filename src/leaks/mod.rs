//! Leak finding across snapshots of one process, in stages that flow one way:
//!
//! 1. [`candidates`]: objects new since the first snapshot, alive in a later one (native
//!    detached DOM nodes included);
//! 2. [`accumulation`]: the long-lived containers they are added to;
//! 3. [`grouping`]: one leak, one group, counted in leaked units;
//! 4. [`owners`]: the named holder of each container;
//! 5. [`classify`]: the pattern, from the container, its owner and what accumulates;
//! 6. [`location`]: the user's line (allocation stacks when the snapshot has them), and
//!    the library when the container lives in a dependency;
//! 7. [`explain`]: the retainer path, what the leaked units keep alive, reason and fix.
//!
//! [`checks`] refuses snapshots of different processes or out of order first. Only the last
//! snapshot is a full graph; earlier ones are [`SnapshotIds`]. Pure: no IO; source text
//! beyond what the snapshot holds comes from a caller's closure.
//!
//! The output types below are the JSON contract of `memsleuth leaks --format json`
//! (DESIGN.md); the report consumes them too. Fields added after the first version
//! (`name`, `unit`, `owner`, `library`, `library_location`, `location_source`, `keeps`) are
//! optional when reading, so older JSON still parses.

pub mod accumulation;
pub mod candidates;
pub mod checks;
pub mod classify;
pub mod explain;
pub mod grouping;
pub mod location;
pub mod owners;
pub mod shapes;
#[cfg(test)]
mod tests;

use crate::heap::HeapGraph;
use crate::heap::ids::SnapshotIds;
use crate::heap::paths;
use serde::{Deserialize, Serialize};

pub use location::SourceFn;

/// A leak pattern (DESIGN.md, "Leak patterns").
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "kebab-case")]
pub enum Pattern {
    EventListener,
    Timer,
    Closure,
    UnclosedConnection,
    UnboundedCollection,
    LargeDataset,
    /// Detached DOM elements kept alive by JavaScript.
    DetachedDom,
    Unknown,
}

impl Pattern {
    pub fn id(self) -> &'static str {
        match self {
            Pattern::EventListener => "event-listener",
            Pattern::Timer => "timer",
            Pattern::Closure => "closure",
            Pattern::UnclosedConnection => "unclosed-connection",
            Pattern::UnboundedCollection => "unbounded-collection",
            Pattern::LargeDataset => "large-dataset",
            Pattern::DetachedDom => "detached-dom",
            Pattern::Unknown => "unknown",
        }
    }
}

/// One snapshot that took part, as listed in the output.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct SnapshotInfo {
    pub file: String,
    pub nodes: u64,
    pub total_bytes: u64,
}

/// One step of a retainer path: `holder` keeps the next step through `edge`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct PathStep {
    /// DevTools class name of the holding object (`(GC roots)`, `global`, `Map`, ...).
    pub holder: String,
    /// Heap snapshot id of the holder in the last snapshot.
    pub holder_id: u64,
    /// The edge taken out of the holder: property or variable name, or the index.
    pub edge: String,
    /// V8 edge type: context, element, property, internal, hidden, shortcut.
    pub edge_type: String,
    /// Part of the suspect subpath: the edge leads to an object allocated after the first
    /// snapshot (from the container down to the leaked object).
    pub suspect: bool,
    /// How many times this step repeats in a row (linked lists, closure chains); 1 if not.
    #[serde(default = "one")]
    pub repeat: u32,
}

fn one() -> u32 {
    1
}

/// A source position: file, 1-based line and column.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Location {
    pub file: String,
    pub line: u32,
    pub column: u32,
}

/// The named holder of the container a leak accumulates in.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Owner {
    /// The variable or property name (`configBus`, `#rendered`, `sessions`), or for a DOM
    /// node or the window that owns a listener list, the node (`<div id="app">`, `window`).
    pub name: String,
    /// `module-variable`, `closure-variable`, `property`, `class-field`, `global` (a
    /// property of the global object, or the window itself), `map-entry` (the container is
    /// a value in the named Map), `dom-node`.
    pub kind: String,
    /// DevTools class of the object holding the name (`system / Context` for variables,
    /// `ReportService` for a field, `global`/`Window` for globals).
    pub holder_class: String,
}

/// The dependency a container lives in.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Library {
    /// npm package (`express-session`, `@scope/name`) or vendor bundle file name.
    pub name: String,
    /// The library's internal holder: `MemoryStore.sessions`, a module variable's name.
    pub holder: String,
}

/// One step below the leaked object towards the memory it keeps alive.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct KeepStep {
    pub edge: String,
    pub edge_type: String,
    /// DevTools class of the object the edge leads to.
    pub class: String,
    /// Retained bytes of that object.
    pub retained_bytes: u64,
}

/// One leak: a group of leaked objects that accumulate in one container.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Finding {
    pub pattern: Pattern,
    /// Why this pattern was chosen, one sentence.
    pub reason: String,
    /// DevTools class name of the leaked units.
    pub class: String,
    /// The function name when the leaked units are functions (listeners, callbacks).
    #[serde(default)]
    pub name: Option<String>,
    /// What one leaked unit is: `listener`, `timer`, `Map entry`, `socket`,
    /// `Detached <div class="card">`, or a class name (`DerivedLogger`).
    #[serde(default)]
    pub unit: String,
    /// Leaked units in the last snapshot (not raw objects: one Map entry is one unit).
    pub count: u64,
    /// Retained size of the group: the bytes that leak.
    pub retained_bytes: u64,
    /// Units alive in each snapshot (0 in the first: they are new since it).
    pub growth: Vec<u64>,
    /// Shallow bytes of the group's objects alive in each snapshot.
    pub growth_bytes: Vec<u64>,
    /// From a long-lived root through the owner and the container to one leaked unit.
    pub retainer_path: Vec<PathStep>,
    /// The user's line that creates the leak.
    pub location: Option<Location>,
    /// The line of code at `location`.
    pub code: Option<String>,
    /// A few lines around `location`, each prefixed with its 1-based line number.
    pub excerpt: Vec<String>,
    /// How `location` was found: `allocation-stack`, `function` (a leaked closure's own
    /// position), `constructor`, `declaration` (of the owner), `leaked-closure` (a user
    /// closure among or near the leaked objects), `retainer-path`.
    #[serde(default)]
    pub location_source: Option<String>,
    /// The named holder of the container.
    #[serde(default)]
    pub owner: Option<Owner>,
    /// The dependency the container lives in.
    #[serde(default)]
    pub library: Option<Library>,
    /// The line inside the library (the holder's declaration or the library's function).
    #[serde(default)]
    pub library_location: Option<Location>,
    /// The chain below a leaked unit to the memory it keeps alive (largest retained first).
    #[serde(default)]
    pub keeps: Vec<KeepStep>,
    /// Stable across snapshots of the program: pattern, owner, container and unit class.
    pub fingerprint: String,
    pub suggestion: String,
}

/// The whole output of `memsleuth leaks`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct LeaksOutput {
    pub snapshots: Vec<SnapshotInfo>,
    pub findings: Vec<Finding>,
}

/// Options of the leak finder.
#[derive(Debug, Clone)]
pub struct Options {
    /// Groups with fewer leaked units are not findings.
    pub min_count: u64,
    /// A group that does not keep growing is still reported when it retains this much
    /// (one large allocation that stays).
    pub large_bytes: u64,
    /// Groups retaining less than this are noise.
    pub min_bytes: u64,
    /// Keep only the first N findings.
    pub top: Option<usize>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            min_count: 1,
            large_bytes: 1 << 20,
            min_bytes: 4096,
            top: None,
        }
    }
}

/// An earlier snapshot: its file name and ids.
pub struct Earlier<'a> {
    pub file: &'a str,
    pub ids: &'a SnapshotIds,
}

/// Finds leaks. `earlier` are the snapshots before the last, oldest first; `last` is the
/// last one, fully analysed. Fails when the snapshots are not of one process, in order.
pub fn find(
    earlier: &[Earlier<'_>],
    last_file: &str,
    last: &HeapGraph,
    sources: SourceFn<'_>,
    opts: &Options,
) -> Result<LeaksOutput, checks::CheckError> {
    let last_ids = SnapshotIds::from_graph(last);
    let mut all: Vec<(&str, &SnapshotIds)> = earlier.iter().map(|e| (e.file, e.ids)).collect();
    all.push((last_file, &last_ids));
    checks::check(&all)?;
    let mut info: Vec<SnapshotInfo> = all
        .iter()
        .map(|(f, s)| SnapshotInfo {
            file: f.to_string(),
            nodes: s.node_count,
            total_bytes: s.total_bytes,
        })
        .collect();
    if let Some(l) = info.last_mut() {
        l.total_bytes = last.total_size;
    }
    drop(last_ids);
    if earlier.is_empty() {
        return Ok(LeaksOutput {
            snapshots: info,
            findings: Vec::new(),
        });
    }
    let ids: Vec<&SnapshotIds> = earlier.iter().map(|e| e.ids).collect();
    let cands = candidates::find(last, &ids);
    let tree = paths::path_tree(last);
    let acc = accumulation::find(last, &tree, &cands);
    let scripts = crate::heap::source::scripts(last);
    let owner_list: Vec<Option<owners::Owner>> = acc
        .list
        .iter()
        .map(|a| {
            let rep = a
                .tops
                .iter()
                .copied()
                .min_by_key(|&t| (tree.depth[t as usize], last.id(t)))?;
            owners::find(last, &tree, &cands, &scripts, a.ap, &a.role, rep)
        })
        .collect();
    let groups = grouping::group(last, &tree, &cands, &acc, &owner_list);
    let locator = location::Locator {
        g: last,
        tree: &tree,
        scripts: &scripts,
        sources,
    };
    let is_new = |o: u32| cands.is_new(o);
    let mut findings = Vec::new();
    for grp in &groups {
        if let Some(f) = finding(last, &tree, &locator, &is_new, grp, opts) {
            findings.push(f);
        }
    }
    findings.sort_by(|a, b| {
        b.retained_bytes
            .cmp(&a.retained_bytes)
            .then(b.count.cmp(&a.count))
            .then(a.fingerprint.cmp(&b.fingerprint))
    });
    if let Some(n) = opts.top {
        findings.truncate(n);
    }
    Ok(LeaksOutput {
        snapshots: info,
        findings,
    })
}

/// Path steps (holder, edge, target) from `ap` down to `o` on the tree.
fn local_steps(g: &HeapGraph, tree: &paths::PathTree, ap: u32, o: u32) -> Vec<(u32, usize, u32)> {
    let mut v = Vec::new();
    let mut cur = o;
    for _ in 0..100_000 {
        let p = tree.parent[cur as usize];
        if p == paths::NO_PARENT {
            return Vec::new();
        }
        v.push((p, tree.parent_edge[cur as usize] as usize, cur));
        if p == ap {
            v.reverse();
            return v;
        }
        cur = p;
    }
    let _ = g;
    Vec::new()
}

/// Turns one group into a finding, or `None` when it is not a leak.
fn finding(
    g: &HeapGraph,
    tree: &paths::PathTree,
    locator: &location::Locator<'_>,
    is_new: &dyn Fn(u32) -> bool,
    grp: &grouping::Group,
    opts: &Options,
) -> Option<Finding> {
    if grp.count < opts.min_count || grp.retained < opts.min_bytes {
        return None;
    }
    let gr = &grp.growth;
    let grows = gr.windows(2).all(|w| w[1] > w[0]);
    let stays = gr.windows(2).all(|w| w[1] >= w[0]) && gr.last() > gr.first();
    if !(grows || (stays && grp.retained >= opts.large_bytes)) {
        return None;
    }
    let prim = grp.primary_ap();
    let owner = grp.owner.clone();
    let local = local_steps(g, tree, prim.ap, grp.rep);
    // A few other members, deepest first, to see chains below the representative.
    let mut deep: Vec<u32> = grp.members.clone();
    deep.sort_by_key(|&m| std::cmp::Reverse(tree.depth[m as usize]));
    let member_paths: Vec<Vec<(u32, usize, u32)>> = deep
        .iter()
        .take(6)
        .map(|&m| local_steps(g, tree, prim.ap, m))
        .collect();
    let other_aps: Vec<u32> = grp
        .aps
        .iter()
        .enumerate()
        .filter(|(k, _)| *k != grp.primary)
        .map(|(_, a)| a.ap)
        .collect();
    let subject = classify::Subject {
        g,
        ap: prim.ap,
        role: &prim.role,
        owner: owner.as_ref(),
        local,
        member_paths,
        rep: grp.rep,
        units: &grp.units,
        unit_class: &grp.unit_class,
        count: grp.count,
        growth: &grp.growth,
        retained: grp.retained,
        other_aps,
        is_new,
        large_bytes: opts.large_bytes,
        scripts: locator.scripts,
    };
    let verdict = classify::classify(&subject);
    // Sockets of an agent created per call sit in the agent's pool, not in a long-lived
    // container: that pool is what names them.
    let owner = match owner {
        None if verdict.api == classify::Api::Agent => grp
            .units
            .iter()
            .take(8)
            .find_map(|&u| owners::pool_owner(g, u, &["Agent"])),
        o => o,
    };
    let steps = explain::path_edges(g, tree, owner.as_ref(), prim.ap, grp.rep);
    let holders: Vec<u32> = steps.iter().map(|s| s.0).collect();
    let located = locator.locate(&location::Target {
        rep: grp.rep,
        units: &grp.units,
        members: &grp.members,
        unit_class: &grp.unit_class,
        owner: owner.as_ref(),
        verdict: &verdict,
        ap: prim.ap,
        path_holders: &holders,
    });
    let user_line = located
        .location
        .as_ref()
        .map(|l| format!("{}:{}", l.file, l.line));
    let words = explain::Words {
        verdict: &verdict,
        owner: owner.as_ref(),
        owner_name: owner.as_ref().map(|o| {
            // An emitter-like object's callback list: the fix calls the object's method.
            let emitter_api = matches!(
                verdict.api,
                classify::Api::EventEmitter | classify::Api::NodeEventTarget
            );
            let field = matches!(
                o.kind,
                owners::OwnerKind::Property
                    | owners::OwnerKind::ClassField
                    | owners::OwnerKind::MapEntry
            );
            match &o.holder_name {
                // ... unless the named object is the emitter itself (`exports.configBus`
                // holds an EventEmitter: `configBus.off`, not `exports.off`).
                Some(h)
                    if emitter_api
                        && field
                        && o.origin != crate::heap::source::Origin::Runtime
                        && crate::heap::source::child(g, o.target, "_events").is_none() =>
                {
                    h.clone()
                }
                _ => o.display_name(g),
            }
        }),
        owner_entry: owner
            .as_ref()
            .and_then(|o| o.entry)
            .map(|(_, e)| g.edge_name(e).into_owned()),
        library: located.library.as_ref(),
        unit_class: &grp.unit_class,
        fn_name: located.name.as_deref(),
        count: grp.count,
        retained: grp.retained,
        ap_class: g.class_name(prim.ap),
        code: located.code.as_deref(),
        user_line,
    };
    let reason = explain::reason(&words);
    let suggestion = explain::suggestion(&words);
    let fingerprint = explain::fingerprint(
        verdict.pattern,
        owner.as_ref(),
        g.class_name(prim.ap),
        &prim.role,
        &grp.unit_class,
        located.library.as_ref(),
        verdict.event.as_deref(),
    );
    Some(Finding {
        pattern: verdict.pattern,
        reason,
        class: grp.unit_class.clone(),
        name: if grp.unit_class == "Function" || verdict.focus.is_some() {
            located.name.clone()
        } else {
            None
        },
        unit: verdict.unit.clone(),
        count: grp.count,
        retained_bytes: grp.retained,
        growth: grp.growth.clone(),
        growth_bytes: grp.growth_bytes.clone(),
        retainer_path: explain::retainer_path(g, &steps, is_new),
        location: located.location,
        code: located.code,
        excerpt: located.excerpt,
        location_source: located.source.map(str::to_string),
        owner: owner.as_ref().map(|o| Owner {
            name: o.name.clone(),
            kind: o.kind.id().to_string(),
            holder_class: o.holder_class.clone(),
        }),
        library: located.library,
        library_location: located.library_location,
        keeps: explain::keeps(g, grp.rep),
        fingerprint,
        suggestion,
    })
}
