//! A reader for the one pickle memsleuth accepts: a tracemalloc `Snapshot.dump()` file.
//!
//! Pickle is a program for a stack machine; Python's own loader runs whatever it names. This
//! reader understands the opcodes a dump uses (protocol 2 to 5: containers, strings, numbers,
//! the memo, `STACK_GLOBAL`/`GLOBAL`, `NEWOBJ`, `BUILD`) and builds plain values. It calls
//! nothing: a global is only a name, and the only names allowed are `tracemalloc.Snapshot`
//! and `tracemalloc._Traces`; any other name, `REDUCE` or an unknown opcode is an error that
//! names the byte offset. Lengths are checked against the data, so a hostile length cannot
//! make it allocate more than the file holds.

use crate::error::InputError;
use std::cell::RefCell;
use std::rc::Rc;

/// One trace of a snapshot: its size and its frames, most recent first.
#[derive(Clone, Debug, PartialEq)]
pub struct Trace {
    pub domain: i64,
    pub size: u64,
    pub frames: Vec<(String, u32)>,
}

/// What a `Snapshot.dump()` holds.
#[derive(Clone, Debug, PartialEq)]
pub struct Snapshot {
    pub traceback_limit: i64,
    pub traces: Vec<Trace>,
}

/// True for data that starts like a pickle of protocol 2 or newer.
pub fn is_pickle(b: &[u8]) -> bool {
    b.len() >= 2 && b[0] == 0x80 && (2..=5).contains(&b[1])
}

#[derive(Clone, Debug)]
enum V {
    None,
    Bool,
    Int(i64),
    Float,
    Str(Rc<str>),
    Bytes,
    Tuple(Rc<[V]>),
    List(Rc<RefCell<Vec<V>>>),
    Dict(Rc<RefCell<Vec<(V, V)>>>),
    Global(Rc<str>, Rc<str>),
    Obj(Rc<RefCell<Obj>>),
    Mark,
}

#[derive(Debug)]
struct Obj {
    class: (Rc<str>, Rc<str>),
    state: Option<V>,
}

const ALLOWED: &[(&str, &str)] = &[("tracemalloc", "Snapshot"), ("tracemalloc", "_Traces")];

struct Machine<'a> {
    name: &'a str,
    data: &'a [u8],
    pos: usize,
    stack: Vec<V>,
    memo: Vec<Option<V>>,
}

impl<'a> Machine<'a> {
    fn err(&self, at: usize, msg: impl Into<String>) -> InputError {
        InputError::at_byte(
            self.name,
            at as u64,
            format!("tracemalloc dump (pickle): {}", msg.into()),
        )
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], InputError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.data.len())
            .ok_or_else(|| self.err(self.pos, "truncated"))?;
        let s = &self.data[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn u8(&mut self) -> Result<u8, InputError> {
        Ok(self.take(1)?[0])
    }

    fn le(&mut self, n: usize) -> Result<u64, InputError> {
        let b = self.take(n)?;
        let mut v: u64 = 0;
        for (i, x) in b.iter().enumerate() {
            v |= (*x as u64) << (8 * i);
        }
        Ok(v)
    }

    fn len_of(&mut self, n: usize) -> Result<usize, InputError> {
        let at = self.pos;
        let v = self.le(n)?;
        usize::try_from(v)
            .ok()
            .filter(|&l| l <= self.data.len())
            .ok_or_else(|| self.err(at, "length past the end of the file"))
    }

    fn string(&mut self, len: usize) -> Result<V, InputError> {
        let at = self.pos;
        let b = self.take(len)?;
        let s = std::str::from_utf8(b).map_err(|_| self.err(at, "string is not UTF-8"))?;
        Ok(V::Str(Rc::from(s)))
    }

    fn pop(&mut self, at: usize) -> Result<V, InputError> {
        match self.stack.pop() {
            Some(V::Mark) | None => Err(self.err(at, "stack underflow")),
            Some(v) => Ok(v),
        }
    }

    fn pop_mark(&mut self, at: usize) -> Result<Vec<V>, InputError> {
        let i = self
            .stack
            .iter()
            .rposition(|v| matches!(v, V::Mark))
            .ok_or_else(|| self.err(at, "no mark on the stack"))?;
        let items = self.stack.split_off(i + 1);
        self.stack.pop();
        Ok(items)
    }

    fn top(&mut self, at: usize) -> Result<&mut V, InputError> {
        let e = self.err(at, "stack underflow");
        match self.stack.last_mut() {
            Some(V::Mark) | None => Err(e),
            Some(v) => Ok(v),
        }
    }

    fn memo_put(&mut self, idx: usize, at: usize) -> Result<(), InputError> {
        let v = self.top(at)?.clone();
        if idx > self.data.len() {
            return Err(self.err(at, "memo index out of range"));
        }
        if self.memo.len() <= idx {
            self.memo.resize(idx + 1, None);
        }
        self.memo[idx] = Some(v);
        Ok(())
    }

    fn memo_get(&mut self, idx: usize, at: usize) -> Result<(), InputError> {
        let v = self
            .memo
            .get(idx)
            .cloned()
            .flatten()
            .ok_or_else(|| self.err(at, format!("memo entry {idx} is not set")))?;
        self.stack.push(v);
        Ok(())
    }

    fn global(&mut self, module: &str, name: &str, at: usize) -> Result<V, InputError> {
        if !ALLOWED.contains(&(module, name)) {
            return Err(self.err(
                at,
                format!(
                    "refers to {module}.{name}; only tracemalloc snapshots are read (nothing in a pickle is run)"
                ),
            ));
        }
        Ok(V::Global(Rc::from(module), Rc::from(name)))
    }

    fn run(&mut self) -> Result<V, InputError> {
        loop {
            let at = self.pos;
            let op = self.u8()?;
            match op {
                0x80 => {
                    let p = self.u8()?;
                    if p > 5 {
                        return Err(self.err(at, format!("pickle protocol {p} is not supported")));
                    }
                }
                0x95 => {
                    self.take(8)?;
                }
                b'.' => return self.pop(at),
                b'(' => self.stack.push(V::Mark),
                b'0' => {
                    self.pop(at)?;
                }
                b'1' => {
                    self.pop_mark(at)?;
                }
                b'2' => {
                    let v = self.top(at)?.clone();
                    self.stack.push(v);
                }
                b'N' => self.stack.push(V::None),
                0x88 => self.stack.push(V::Bool),
                0x89 => self.stack.push(V::Bool),
                b'J' => {
                    let v = self.le(4)? as u32 as i32 as i64;
                    self.stack.push(V::Int(v));
                }
                b'K' => {
                    let v = self.u8()? as i64;
                    self.stack.push(V::Int(v));
                }
                b'M' => {
                    let v = self.le(2)? as i64;
                    self.stack.push(V::Int(v));
                }
                0x8a | 0x8b => {
                    let n = if op == 0x8a {
                        self.u8()? as usize
                    } else {
                        self.len_of(4)?
                    };
                    let b = self.take(n)?;
                    if n > 8 {
                        return Err(self.err(at, "integer wider than 64 bits"));
                    }
                    let mut v: i64 = 0;
                    for (i, x) in b.iter().enumerate() {
                        v |= (*x as i64) << (8 * i);
                    }
                    if n > 0 && n < 8 && b[n - 1] & 0x80 != 0 {
                        v -= 1i64 << (8 * n);
                    }
                    self.stack.push(V::Int(v));
                }
                b'G' => {
                    self.take(8)?;
                    self.stack.push(V::Float);
                }
                0x8c => {
                    let n = self.u8()? as usize;
                    let v = self.string(n)?;
                    self.stack.push(v);
                }
                b'X' => {
                    let n = self.len_of(4)?;
                    let v = self.string(n)?;
                    self.stack.push(v);
                }
                0x8d => {
                    let n = self.len_of(8)?;
                    let v = self.string(n)?;
                    self.stack.push(v);
                }
                b'C' | b'B' | 0x8e => {
                    let n = match op {
                        b'C' => self.u8()? as usize,
                        b'B' => self.len_of(4)?,
                        _ => self.len_of(8)?,
                    };
                    self.take(n)?;
                    self.stack.push(V::Bytes);
                }
                b')' => self.stack.push(V::Tuple(Rc::from(Vec::new()))),
                b't' => {
                    let items = self.pop_mark(at)?;
                    self.stack.push(V::Tuple(Rc::from(items)));
                }
                0x85..=0x87 => {
                    let n = (op - 0x84) as usize;
                    let mut items = Vec::with_capacity(n);
                    for _ in 0..n {
                        items.push(self.pop(at)?);
                    }
                    items.reverse();
                    self.stack.push(V::Tuple(Rc::from(items)));
                }
                b']' | 0x8f => self.stack.push(V::List(Rc::new(RefCell::new(Vec::new())))),
                b'l' | 0x91 => {
                    let items = self.pop_mark(at)?;
                    self.stack.push(V::List(Rc::new(RefCell::new(items))));
                }
                b'a' => {
                    let v = self.pop(at)?;
                    match self.top(at)? {
                        V::List(l) => l.borrow_mut().push(v),
                        _ => return Err(self.err(at, "APPEND to a non-list")),
                    }
                }
                b'e' | 0x90 => {
                    let items = self.pop_mark(at)?;
                    match self.top(at)? {
                        V::List(l) => l.borrow_mut().extend(items),
                        _ => return Err(self.err(at, "APPENDS to a non-list")),
                    }
                }
                b'}' => self.stack.push(V::Dict(Rc::new(RefCell::new(Vec::new())))),
                b'd' => {
                    let items = self.pop_mark(at)?;
                    let d = pairs(items).ok_or_else(|| self.err(at, "odd number of items"))?;
                    self.stack.push(V::Dict(Rc::new(RefCell::new(d))));
                }
                b's' => {
                    let v = self.pop(at)?;
                    let k = self.pop(at)?;
                    match self.top(at)? {
                        V::Dict(d) => d.borrow_mut().push((k, v)),
                        _ => return Err(self.err(at, "SETITEM on a non-dict")),
                    }
                }
                b'u' => {
                    let items = self.pop_mark(at)?;
                    let kv = pairs(items).ok_or_else(|| self.err(at, "odd number of items"))?;
                    match self.top(at)? {
                        V::Dict(d) => d.borrow_mut().extend(kv),
                        _ => return Err(self.err(at, "SETITEMS on a non-dict")),
                    }
                }
                0x94 => {
                    let idx = self.memo.len();
                    self.memo_put(idx, at)?;
                }
                b'q' => {
                    let i = self.u8()? as usize;
                    self.memo_put(i, at)?;
                }
                b'r' => {
                    let i = self.len_of(4)?;
                    self.memo_put(i, at)?;
                }
                b'h' => {
                    let i = self.u8()? as usize;
                    self.memo_get(i, at)?;
                }
                b'j' => {
                    let i = self.le(4)? as usize;
                    self.memo_get(i, at)?;
                }
                b'c' => {
                    let module = self.text_line(at)?;
                    let name = self.text_line(at)?;
                    let g = self.global(&module, &name, at)?;
                    self.stack.push(g);
                }
                0x93 => {
                    let name = self.pop(at)?;
                    let module = self.pop(at)?;
                    let (V::Str(m), V::Str(n)) = (module, name) else {
                        return Err(self.err(at, "STACK_GLOBAL needs two strings"));
                    };
                    let g = self.global(&m, &n, at)?;
                    self.stack.push(g);
                }
                0x81 | 0x92 => {
                    if op == 0x92 {
                        self.pop(at)?;
                    }
                    let _args = self.pop(at)?;
                    let cls = self.pop(at)?;
                    let V::Global(m, n) = cls else {
                        return Err(self.err(at, "NEWOBJ of something that is not a class"));
                    };
                    self.stack.push(V::Obj(Rc::new(RefCell::new(Obj {
                        class: (m, n),
                        state: None,
                    }))));
                }
                b'b' => {
                    let state = self.pop(at)?;
                    match self.top(at)? {
                        V::Obj(o) => o.borrow_mut().state = Some(state),
                        _ => return Err(self.err(at, "BUILD on something that is not an object")),
                    }
                }
                b'R' => {
                    return Err(self.err(
                        at,
                        "REDUCE (a call) is not part of a tracemalloc dump; nothing in a pickle is run",
                    ));
                }
                other => {
                    return Err(self.err(
                        at,
                        format!("opcode 0x{other:02x} is not part of a tracemalloc dump"),
                    ));
                }
            }
        }
    }

    fn text_line(&mut self, at: usize) -> Result<String, InputError> {
        let rest = &self.data[self.pos..];
        let end = rest
            .iter()
            .position(|&b| b == b'\n')
            .ok_or_else(|| self.err(at, "truncated"))?;
        let s = std::str::from_utf8(&rest[..end])
            .map_err(|_| self.err(at, "name is not UTF-8"))?
            .to_string();
        self.pos += end + 1;
        Ok(s)
    }
}

fn pairs(items: Vec<V>) -> Option<Vec<(V, V)>> {
    if !items.len().is_multiple_of(2) {
        return None;
    }
    let mut out = Vec::with_capacity(items.len() / 2);
    let mut it = items.into_iter();
    while let (Some(k), Some(v)) = (it.next(), it.next()) {
        out.push((k, v));
    }
    Some(out)
}

fn field(state: &Option<V>, key: &str) -> Option<V> {
    let Some(V::Dict(d)) = state else {
        return None;
    };
    d.borrow()
        .iter()
        .find(|(k, _)| matches!(k, V::Str(s) if &**s == key))
        .map(|(_, v)| v.clone())
}

/// Reads a `Snapshot.dump()` file.
pub fn load_snapshot(name: &str, data: &[u8]) -> Result<Snapshot, InputError> {
    let mut m = Machine {
        name,
        data,
        pos: 0,
        stack: Vec::new(),
        memo: Vec::new(),
    };
    let top = m.run()?;
    let not_snapshot =
        || InputError::whole(name, "a pickle, but not a tracemalloc Snapshot.dump()");
    let V::Obj(o) = top else {
        return Err(not_snapshot());
    };
    let o = o.borrow();
    if &*o.class.1 != "Snapshot" {
        return Err(not_snapshot());
    }
    let limit = match field(&o.state, "traceback_limit") {
        Some(V::Int(i)) => i,
        _ => 0,
    };
    let traces_obj = match field(&o.state, "traces") {
        Some(V::Obj(t)) => t,
        _ => return Err(not_snapshot()),
    };
    let t = traces_obj.borrow();
    let Some(V::List(list)) = field(&t.state, "_traces") else {
        return Err(not_snapshot());
    };
    let list = list.borrow();
    let mut traces = Vec::with_capacity(list.len());
    for (i, tr) in list.iter().enumerate() {
        let bad = || {
            InputError::whole(
                name,
                format!("trace {i} is not (domain, size, traceback, ...)"),
            )
        };
        let V::Tuple(parts) = tr else {
            return Err(bad());
        };
        let (Some(V::Int(domain)), Some(V::Int(size)), Some(V::Tuple(tb))) =
            (parts.first(), parts.get(1), parts.get(2))
        else {
            return Err(bad());
        };
        let mut frames = Vec::with_capacity(tb.len());
        for f in tb.iter() {
            if let V::Tuple(fl) = f
                && let (Some(V::Str(file)), Some(V::Int(line))) = (fl.first(), fl.get(1))
            {
                frames.push((file.to_string(), (*line).clamp(0, u32::MAX as i64) as u32));
                continue;
            }
            return Err(bad());
        }
        traces.push(Trace {
            domain: *domain,
            size: (*size).max(0) as u64,
            frames,
        });
    }
    Ok(Snapshot {
        traceback_limit: limit,
        traces,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_other_globals_and_calls() {
        // pickle.dumps(os.system) at protocol 4: STACK_GLOBAL of posix.system.
        let mut p = vec![0x80, 4, 0x8c, 5];
        p.extend_from_slice(b"posix");
        p.push(0x8c);
        p.push(6);
        p.extend_from_slice(b"system");
        p.extend_from_slice(&[0x93, b'.']);
        let e = load_snapshot("x.pickle", &p).unwrap_err();
        assert!(e.message.contains("posix.system"), "{e}");
        let e = load_snapshot("x.pickle", &[0x80, 4, b'R', b'.']).unwrap_err();
        assert!(e.message.contains("REDUCE"), "{e}");
    }

    #[test]
    fn hostile_lengths_are_errors() {
        let e = load_snapshot(
            "x",
            &[0x80, 4, 0x8d, 255, 255, 255, 255, 255, 255, 255, 127],
        )
        .unwrap_err();
        assert!(
            e.message.contains("length") || e.message.contains("truncated"),
            "{e}"
        );
        assert!(load_snapshot("x", &[0x80, 4]).is_err());
        assert!(load_snapshot("x", &[0x80, 4, b'h', 9, b'.']).is_err());
    }
}
