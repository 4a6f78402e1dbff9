//! Writes a larger heap snapshot made of copies of a real one, for benchmarks past what Node
//! can write on this machine (a 5 GB snapshot needs about 20 GB of memory in Node).
//!
//!     tile-snapshot IN.heapsnapshot OUT.heapsnapshot COPIES
//!
//! Every node but the root is repeated COPIES times (ids renumbered as twice the new
//! ordinal, odd for V8 heap objects and even for embedder ones as in V8);
//! the root keeps one edge list per copy, so each copy hangs off the root as the original
//! did. Strings are shared. WeakMap edge names still name the first copy's table ids, so
//! the copies' WeakMap edges count as essential: harmless for a benchmark input.

use memsleuth::heap::parse::RawSnapshot;
use std::io::{BufWriter, Write};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() != 3 {
        eprintln!("usage: tile-snapshot IN OUT COPIES");
        std::process::exit(2);
    }
    let copies: usize = args[2].parse().expect("COPIES");
    let raw = memsleuth::heap::read(&args[0], &|_| {}).unwrap_or_else(|e| {
        eprintln!("{e}");
        std::process::exit(2);
    });
    let f = std::fs::File::create(&args[1]).expect("create OUT");
    let mut w = BufWriter::with_capacity(1 << 20, f);
    write_tiled(&raw, copies, &mut w).expect("write");
    w.flush().expect("flush");
}

fn num(out: &mut Vec<u8>, mut v: u64) {
    let mut tmp = [0u8; 20];
    let mut i = tmp.len();
    loop {
        i -= 1;
        tmp[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.extend_from_slice(&tmp[i..]);
}

fn write_tiled(raw: &RawSnapshot, k: usize, w: &mut impl Write) -> std::io::Result<()> {
    let n = raw.node_count();
    let m = raw.edge_count();
    let root_edges = (raw.first_edge[1] - raw.first_edge[0]) as usize;
    let new_n = 1 + k * (n - 1);
    let new_m = k * m;
    assert!(
        2 * new_n as u64 + 1 <= u32::MAX as u64,
        "too many copies for 32-bit node ids"
    );
    let new_id = |ordinal: u64, old: u32| 2 * ordinal + (old as u64 & 1);
    let has_det = !raw.node_det.is_empty();
    let nf: u64 = if has_det { 6 } else { 5 };
    let q = |v: &[String]| serde_json::to_string(v).unwrap();
    let node_fields = if has_det {
        r#"["type","name","id","self_size","edge_count","detachedness"]"#
    } else {
        r#"["type","name","id","self_size","edge_count"]"#
    };
    write!(
        w,
        r#"{{"snapshot":{{"meta":{{"node_fields":{node_fields},"node_types":[{},"string","number","number","number","number"],"edge_fields":["type","name_or_index","to_node"],"edge_types":[{},"string_or_number","node"],"location_fields":["object_index","script_id","line","column"]}},"node_count":{new_n},"edge_count":{new_m},"extra_native_bytes":{}}},"#,
        q(&raw.meta.node_types),
        q(&raw.meta.edge_types),
        raw.meta.extra_native_bytes * k as u64
    )?;
    // New ordinal of node `o` of copy `c`.
    let map = |c: usize, o: u32| -> u64 {
        if o == 0 {
            0
        } else {
            (1 + c * (n - 1) + (o as usize - 1)) as u64
        }
    };
    let mut buf: Vec<u8> = Vec::with_capacity(1 << 20);
    let flush = |buf: &mut Vec<u8>, w: &mut dyn Write| -> std::io::Result<()> {
        if buf.len() > (1 << 20) - 256 {
            w.write_all(buf)?;
            buf.clear();
        }
        Ok(())
    };
    w.write_all(b"\n\"nodes\":[")?;
    let mut first = true;
    let mut node = |buf: &mut Vec<u8>, o: usize, id: u64, ec: u64| {
        if !first {
            buf.push(b',');
        }
        first = false;
        num(buf, raw.node_type[o] as u64);
        buf.push(b',');
        num(buf, raw.node_name[o] as u64);
        buf.push(b',');
        num(buf, id);
        buf.push(b',');
        num(buf, raw.node_self[o]);
        buf.push(b',');
        num(buf, ec);
        if has_det {
            buf.push(b',');
            num(buf, raw.node_det[o] as u64);
        }
        buf.push(b'\n');
    };
    node(&mut buf, 0, raw.node_id[0] as u64, (k * root_edges) as u64);
    let map_o = |c: usize, o: usize| (1 + c * (n - 1) + (o - 1)) as u64;
    for c in 0..k {
        for o in 1..n {
            let ec = (raw.first_edge[o + 1] - raw.first_edge[o]) as u64;
            node(&mut buf, o, new_id(map_o(c, o), raw.node_id[o]), ec);
            flush(&mut buf, w)?;
        }
    }
    w.write_all(&buf)?;
    buf.clear();
    w.write_all(b"],\n\"edges\":[")?;
    let mut first = true;
    let mut edge = |buf: &mut Vec<u8>, c: usize, e: usize| {
        if !first {
            buf.push(b',');
        }
        first = false;
        num(buf, raw.edge_type[e] as u64);
        buf.push(b',');
        num(buf, raw.edge_name[e] as u64);
        buf.push(b',');
        num(buf, map(c, raw.edge_to[e]) * nf);
        buf.push(b'\n');
    };
    for c in 0..k {
        for e in 0..root_edges {
            edge(&mut buf, c, e);
        }
    }
    for c in 0..k {
        for e in root_edges..m {
            edge(&mut buf, c, e);
            flush(&mut buf, w)?;
        }
    }
    w.write_all(&buf)?;
    buf.clear();
    w.write_all(b"],\n\"locations\":[")?;
    let mut first = true;
    for c in 0..k {
        for l in &raw.locations {
            if !first {
                buf.push(b',');
            }
            first = false;
            num(&mut buf, map(c, l[0]) * nf);
            for v in &l[1..] {
                buf.push(b',');
                num(&mut buf, *v as u64);
            }
            buf.push(b'\n');
            flush(&mut buf, w)?;
        }
    }
    w.write_all(&buf)?;
    buf.clear();
    w.write_all(b"],\n\"strings\":[")?;
    for i in 0..raw.strings.len() as u32 {
        if i > 0 {
            buf.extend_from_slice(b",\n");
        }
        serde_json::to_writer(&mut buf, raw.strings.get(i)).expect("string");
        flush(&mut buf, w)?;
    }
    w.write_all(&buf)?;
    w.write_all(b"]}")?;
    Ok(())
}
