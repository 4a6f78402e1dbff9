//! The heap engine past the limits the golden fixtures reach: objects of 4 GiB and more.
//!
//! DevTools keeps node fields in `Uint32Array`s, so a `self_size` of 2^32 or more wraps there
//! (a 5 GiB `ArrayBuffer` shows as 1 GiB); memsleuth reads and sums sizes up to 2^53 exactly.

use memsleuth::heap;
use std::process::Command;

fn memsleuth_json(args: &[&str]) -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_memsleuth"))
        .args(args)
        .output()
        .expect("run memsleuth");
    assert!(
        out.status.success(),
        "memsleuth {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON output")
}

fn class_row<'a>(summary: &'a serde_json::Value, key: &str) -> &'a serde_json::Value {
    summary["classes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["key"] == key)
        .unwrap_or_else(|| panic!("no class row {key:?}"))
}

/// Regression: a snapshot holding one object of 4 GiB or more was refused ("in `nodes`:
/// number larger than 4294967295"). Real Node: an `ArrayBuffer` of 5 GiB (zero-filled lazily
/// by the allocator, so it costs address space, not memory).
#[test]
fn snapshot_with_a_5_gib_array_buffer_opens_with_exact_sizes() {
    const SIZE: u64 = 5 << 30;
    let dir = tempfile::tempdir().unwrap();
    let snap = dir.path().join("big-buffer.heapsnapshot");
    let script = format!(
        "const v8 = require('v8'); globalThis.big = new ArrayBuffer({SIZE}); \
         v8.writeHeapSnapshot(process.argv[1]);"
    );
    let status = Command::new("node")
        .arg("-e")
        .arg(&script)
        .arg(&snap)
        .status()
        .expect("run node");
    assert!(status.success(), "node failed to write the snapshot");

    // The backing store is one node of exactly 5 GiB.
    let g = heap::load(snap.to_str().unwrap(), &|_| {}).unwrap();
    let stores: Vec<u32> = (0..g.n_nodes() as u32)
        .filter(|&o| g.raw_name(o) == "system / JSArrayBufferData")
        .collect();
    assert!(
        stores.iter().any(|&o| g.self_size[o as usize] == SIZE),
        "no 5 GiB backing store among {:?}",
        stores
            .iter()
            .map(|&o| g.self_size[o as usize])
            .collect::<Vec<_>>()
    );
    let all_stores: u64 = stores.iter().map(|&o| g.self_size[o as usize]).sum();
    let all_nodes: u64 = g.self_size.iter().sum();
    assert_eq!(
        g.retained[0] + g.raw.meta.extra_native_bytes,
        all_nodes + g.raw.meta.extra_native_bytes
    );

    // What `memsleuth summary` prints: nothing wrapped at 2^32.
    let s = memsleuth_json(&["summary", snap.to_str().unwrap(), "--format", "json"]);
    let row = class_row(&s, ",system / JSArrayBufferData");
    assert_eq!(row["shallow_bytes"].as_u64(), Some(all_stores));
    assert!(row["retained_bytes"].as_u64().unwrap() >= SIZE);
    assert_eq!(
        s["total_bytes"].as_u64(),
        Some(all_nodes + g.raw.meta.extra_native_bytes)
    );
    assert!(s["statistics"]["typed_arrays"].as_u64().unwrap() >= SIZE);
    let buffer = class_row(&s, ",ArrayBuffer");
    assert!(buffer["retained_bytes"].as_u64().unwrap() >= SIZE);
    assert!(
        s["top_retainers"][0]["retained_bytes"].as_u64().unwrap() >= SIZE,
        "{}",
        s["top_retainers"]
    );
}

/// Sizes past 2^32 in a hand-made snapshot, summed exactly up to where doubles stay exact
/// (2^53): three backing stores of 6 GiB, 4 GiB + 1 byte and 1 TiB under one object.
#[test]
fn self_sizes_past_2_32_are_summed_exactly() {
    let head = r#"{"snapshot":{"meta":{"node_fields":["type","name","id","self_size","edge_count"],"node_types":[["hidden","array","string","object","code","closure","regexp","number","native","synthetic"],"string","number","number","number"],"edge_fields":["type","name_or_index","to_node"],"edge_types":[["context","element","property","internal","hidden","shortcut","weak"],"string_or_number","node"],"location_fields":["object_index","script_id","line","column"]},"node_count":6,"edge_count":5},"#;
    let (a, b, c) = (6u64 << 30, (4u64 << 30) + 1, 1u64 << 40);
    // root -shortcut-> global object -property "buf"-> ArrayBuffer -internal-> three stores.
    let body = format!(
        "\"nodes\":[9,1,1,0,1,3,2,3,48,1,3,3,5,64,3,8,4,7,{a},0,8,4,9,{b},0,8,4,11,{c},0],\
         \"edges\":[5,5,5,2,6,10,3,7,15,3,7,20,3,7,25],\
         \"locations\":[],\
         \"strings\":[\"<dummy>\",\"\",\"global\",\"ArrayBuffer\",\"system / JSArrayBufferData\",\"2\",\"buf\",\"backing_store\"]}}"
    );
    let text = format!("{head}{body}");
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("sizes.heapsnapshot");
    std::fs::write(&p, text).unwrap();
    let s = memsleuth_json(&["summary", p.to_str().unwrap(), "--format", "json"]);
    let stores = a + b + c;
    let total = 48 + 64 + stores;
    assert_eq!(s["total_bytes"].as_u64(), Some(total), "{s}");
    let row = class_row(&s, ",system / JSArrayBufferData");
    assert_eq!(row["count"].as_u64(), Some(3));
    assert_eq!(row["shallow_bytes"].as_u64(), Some(stores));
    assert_eq!(row["retained_bytes"].as_u64(), Some(stores));
    assert_eq!(
        class_row(&s, ",ArrayBuffer")["retained_bytes"].as_u64(),
        Some(64 + stores)
    );
    assert_eq!(s["statistics"]["typed_arrays"].as_u64(), Some(stores));
    assert_eq!(s["statistics"]["native"].as_u64(), Some(stores));
    // Read back through the library too: the raw sizes are the file's.
    let g = heap::load(p.to_str().unwrap(), &|_| {}).unwrap();
    assert_eq!(g.self_size[3..].to_vec(), vec![a, b, c]);
}
