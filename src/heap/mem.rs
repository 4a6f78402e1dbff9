//! Large columns on transparent huge pages.
//!
//! The columns of a 1 GB snapshot are over a gigabyte of fresh memory. With 4 KiB pages the
//! kernel takes a page fault for every 4 KiB first touched: a quarter of a million faults
//! per gigabyte, which profiles showed as 15-25% of the time of `summary`. Asking for huge
//! pages (`madvise(MADV_HUGEPAGE)`, honoured in the kernel's default "madvise" mode) makes
//! that 512 times fewer faults. The advice changes nothing but how the memory is backed.

/// Columns smaller than this stay on ordinary pages.
const MIN_BYTES: usize = 4 << 20;

#[cfg(target_os = "linux")]
mod sys {
    use std::ffi::{c_int, c_void};
    unsafe extern "C" {
        pub fn madvise(addr: *mut c_void, len: usize, advice: c_int) -> c_int;
    }
    pub const MADV_HUGEPAGE: c_int = 14;
}

/// Advises huge pages for the allocation of `v` (its whole capacity). Call it before the
/// memory is first written: pages already touched stay as they are.
pub fn advise_huge<T>(v: &mut Vec<T>) {
    let bytes = v.capacity().saturating_mul(std::mem::size_of::<T>());
    if bytes < MIN_BYTES {
        return;
    }
    #[cfg(target_os = "linux")]
    {
        const PAGE: usize = 4096;
        let start = v.as_mut_ptr() as usize;
        let from = start.next_multiple_of(PAGE);
        let to = (start + bytes) & !(PAGE - 1);
        if to > from {
            // SAFETY: [from, to) lies inside the allocation `v` owns (capacity, rounded inward
            // to whole pages). MADV_HUGEPAGE only tells the kernel how to back these pages; it
            // neither reads nor changes their contents, and a failure (an old kernel, THP
            // disabled) leaves ordinary pages, which is fine: the result is ignored.
            unsafe {
                sys::madvise(from as *mut std::ffi::c_void, to - from, sys::MADV_HUGEPAGE);
            }
        }
    }
}

/// A column of `n` copies of `x`, on huge pages when large.
pub fn column<T: Clone>(n: usize, x: T) -> Vec<T> {
    let mut v = Vec::with_capacity(n);
    advise_huge(&mut v);
    v.resize(n, x);
    v
}

/// A copy of `s` on huge pages when large.
pub fn copy_of<T: Clone>(s: &[T]) -> Vec<T> {
    let mut v = Vec::with_capacity(s.len());
    advise_huge(&mut v);
    v.extend_from_slice(s);
    v
}

/// A column of `n` values made by `f`, on huge pages when large.
pub fn column_with<T>(n: usize, mut f: impl FnMut() -> T) -> Vec<T> {
    let mut v = Vec::with_capacity(n);
    advise_huge(&mut v);
    v.extend((0..n).map(|_| f()));
    v
}
