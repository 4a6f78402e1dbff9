//! Allocation stacks: `trace_function_infos` and `trace_tree`, written when the snapshot was
//! taken with allocation tracking (`node --track-heap-objects`, DevTools' allocation
//! instrumentation, `HeapProfiler.startTrackingHeapObjects`). Each node's `trace_node_id`
//! names a node of the trace tree; its chain of parents is the stack that allocated the
//! object, innermost function first.

/// One function of the allocation stacks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FunctionInfo {
    /// String index of the function name.
    pub name: u32,
    /// String index of the script name.
    pub script_name: u32,
    pub script_id: u32,
    /// 1-based; 0 when unknown.
    pub line: u32,
    /// 1-based; 0 when unknown.
    pub column: u32,
}

/// The allocation trace tree, flattened.
#[derive(Debug, Clone, Default)]
pub struct AllocTraces {
    pub functions: Vec<FunctionInfo>,
    /// Trace node ids, ascending, with their function index and parent (index into these
    /// vectors; `u32::MAX` for the tree's root).
    pub node_ids: Vec<u32>,
    pub node_function: Vec<u32>,
    pub node_parent: Vec<u32>,
}

impl AllocTraces {
    pub fn is_empty(&self) -> bool {
        self.node_ids.is_empty() || self.functions.is_empty()
    }

    /// Builds the function table from the flat `trace_function_infos` numbers and the
    /// header's `trace_function_info_fields`. Rows with a missing field are skipped.
    pub fn set_functions(&mut self, fields: &[String], flat: &[u32]) {
        let at = |n: &str| fields.iter().position(|f| f == n);
        let nf = fields.len();
        let (Some(name), Some(script_name), Some(script_id), Some(line), Some(column)) = (
            at("name"),
            at("script_name"),
            at("script_id"),
            at("line"),
            at("column"),
        ) else {
            return;
        };
        if nf == 0 {
            return;
        }
        self.functions = flat
            .chunks_exact(nf)
            .map(|r| FunctionInfo {
                name: r[name],
                script_name: r[script_name],
                script_id: r[script_id],
                line: r[line],
                column: r[column],
            })
            .collect();
    }

    /// Parses the nested `trace_tree` array (`[id, function_info_index, count, size,
    /// [children...], ...]`, field order from `trace_node_fields`). Returns a message on
    /// malformed input.
    pub fn set_tree(&mut self, fields: &[String], text: &[u8]) -> Result<(), String> {
        let at = |n: &str| fields.iter().position(|f| f == n);
        let (Some(id_f), Some(fn_f), Some(ch_f)) =
            (at("id"), at("function_info_index"), at("children"))
        else {
            return Ok(());
        };
        let nf = fields.len();
        // A stack of open child lists: the tree node owning each (u32::MAX: the top list).
        let mut owners: Vec<u32> = Vec::new();
        let mut rec: Vec<u32> = Vec::with_capacity(nf);
        let mut ids = Vec::new();
        let mut funcs = Vec::new();
        let mut parents = Vec::new();
        let mut i = 0;
        let mut num: Option<u64> = None;
        let flush_num = |num: &mut Option<u64>, rec: &mut Vec<u32>| -> Result<(), String> {
            if let Some(v) = num.take() {
                if rec.len() >= nf {
                    return Err("trace tree record has too many fields".into());
                }
                rec.push(u32::try_from(v).map_err(|_| "trace tree number too large")?);
            }
            Ok(())
        };
        while i < text.len() {
            let b = text[i];
            i += 1;
            match b {
                b'0'..=b'9' => {
                    let d = (b - b'0') as u64;
                    let v = num.unwrap_or(0).saturating_mul(10).saturating_add(d);
                    num = Some(v.min(u64::from(u32::MAX) + 1));
                }
                b'[' => {
                    flush_num(&mut num, &mut rec)?;
                    if owners.is_empty() {
                        owners.push(u32::MAX);
                        continue;
                    }
                    // The children list of the record read so far.
                    if rec.len() != ch_f {
                        return Err("trace tree: `[` where a number was expected".into());
                    }
                    let (Some(&id), Some(&f)) = (rec.get(id_f), rec.get(fn_f)) else {
                        return Err("trace tree record is incomplete".into());
                    };
                    let parent = *owners.last().unwrap_or(&u32::MAX);
                    ids.push(id);
                    funcs.push(f);
                    parents.push(parent);
                    owners.push((ids.len() - 1) as u32);
                    rec.clear();
                    if owners.len() > 100_000 {
                        return Err("trace tree nested too deeply".into());
                    }
                }
                b']' => {
                    flush_num(&mut num, &mut rec)?;
                    if !rec.is_empty() {
                        return Err("trace tree record cut short".into());
                    }
                    if owners.pop().is_none() {
                        return Err("trace tree: unbalanced `]`".into());
                    }
                }
                b',' | b' ' | b'\n' | b'\r' | b'\t' => flush_num(&mut num, &mut rec)?,
                _ => return Err(format!("trace tree: unexpected byte 0x{b:02x}")),
            }
        }
        if !owners.is_empty() {
            return Err("trace tree: unclosed `[`".into());
        }
        // Sort by id so lookups can bisect; parents are remapped to the new positions.
        let mut order: Vec<u32> = (0..ids.len() as u32).collect();
        order.sort_unstable_by_key(|&k| ids[k as usize]);
        let mut pos = vec![0u32; ids.len()];
        for (new, &old) in order.iter().enumerate() {
            pos[old as usize] = new as u32;
        }
        self.node_ids = order.iter().map(|&k| ids[k as usize]).collect();
        self.node_function = order.iter().map(|&k| funcs[k as usize]).collect();
        self.node_parent = order
            .iter()
            .map(|&k| {
                let p = parents[k as usize];
                if p == u32::MAX { p } else { pos[p as usize] }
            })
            .collect();
        Ok(())
    }

    /// The allocation stack of a trace node id: function infos, innermost first.
    pub fn stack(&self, trace_node_id: u32) -> Vec<FunctionInfo> {
        let mut out = Vec::new();
        let Ok(mut k) = self.node_ids.binary_search(&trace_node_id) else {
            return out;
        };
        for _ in 0..1024 {
            if let Some(f) = self
                .node_function
                .get(k)
                .and_then(|&f| self.functions.get(f as usize))
            {
                out.push(*f);
            }
            match self.node_parent.get(k) {
                Some(&p) if p != u32::MAX => k = p as usize,
                _ => break,
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn trace_tree_parses_into_parent_links() {
        let mut t = AllocTraces::default();
        t.set_functions(
            &fields(&[
                "function_id",
                "name",
                "script_name",
                "script_id",
                "line",
                "column",
            ]),
            &[0, 1, 2, 0, 0, 0, 7, 3, 4, 9, 12, 5],
        );
        t.set_tree(
            &fields(&["id", "function_info_index", "count", "size", "children"]),
            b"[1,0,0,0,[2,1,5,80,[],3,1,1,16,[4,0,2,32,[]]]]",
        )
        .unwrap();
        assert_eq!(t.node_ids, vec![1, 2, 3, 4]);
        let s = t.stack(4);
        assert_eq!(s.len(), 3);
        assert_eq!(s[1].line, 12);
        assert!(t.stack(99).is_empty());
    }

    #[test]
    fn malformed_trace_trees_are_errors() {
        let f = fields(&["id", "function_info_index", "count", "size", "children"]);
        for bad in [&b"[1,0,0,0,["[..], b"[1,0,[", b"[1,0,0,0,[]]]", b"[x]"] {
            let mut t = AllocTraces::default();
            assert!(
                t.set_tree(&f, bad).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
