//! A peer for `scripts/bench-heap.sh`: the `v8-heap-parser` crate (microsoft/vscode-v8-heap-tools)
//! doing what `memsleuth summary` does: read a snapshot, compute dominators and retained sizes,
//! and group the nodes by class with their retained sizes. Prints the five largest classes, so
//! the work cannot be optimized away and its answer can be eyeballed.
//!
//!     bench-v8-heap-parser FILE.heapsnapshot
//!
//! The file is read whole into memory and parsed with `decode_slice`, the faster of the crate's
//! two entry points (its `decode_reader` streams through serde_json's `from_reader`).

fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: bench-v8-heap-parser FILE.heapsnapshot");
        std::process::exit(2);
    };
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("{path}: {e}");
            std::process::exit(2);
        }
    };
    let graph = match v8_heap_parser::decode_slice(&bytes) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("{path}: {e}");
            std::process::exit(2);
        }
    };
    drop(bytes);
    let groups = graph.get_class_groups(false);
    let mut top: Vec<(u64, u64, usize, String)> = groups
        .iter()
        .map(|g| {
            let name = graph
                .get_node(g.index)
                .map_or_else(String::new, |n| n.class_name().to_string());
            (g.retained_size, g.self_size, g.nodes.len(), name)
        })
        .collect();
    top.sort_by(|a, b| b.cmp(a));
    println!("{} classes", top.len());
    for (retained, shallow, count, name) in top.iter().take(5) {
        println!("{retained}\t{shallow}\t{count}\t{name}");
    }
}
