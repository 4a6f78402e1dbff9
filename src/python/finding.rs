//! The finding a Python leak becomes: `leaks::Finding` itself (contracts C2, C5), so the
//! report and `verify` read Python and Node findings alike. For Python, steps of
//! `retainer_path` are referrer steps (holder type, edge, edge kind) from a root (module,
//! class, thread) through the owner and the container to one unit; `class` is the Python type
//! of the leaked unit (`str`, `function`, `_io.TextIOWrapper`); `unit` is `cache entry`,
//! `lru_cache entry`, `callback`, `open file`, `socket`, `thread` or `list element`; `count`
//! and `growth` are units at the last and at each checkpoint (0 where not measured);
//! `retained_bytes` and `growth_bytes` are the bytes of the units' allocation sites
//! (tracemalloc); `owner.kind` is `module-variable`, `class-field`, `property`,
//! `closure-variable`, `thread` or `local-variable`, its `holder_class` the Python type
//! holding the name; `library` is the installed package the container lives in;
//! `location_source` is `container-insert`, `registration`, `declaration` (an lru_cache's
//! decorator) or `allocation-stack` (the user frame of the allocation traceback).

pub use crate::leaks::{Finding, KeepStep, Library, Owner};
