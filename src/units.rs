//! The one unit convention of memsleuth: **binary units, labelled as such**.
//!
//! Every human-readable size is written in B, KiB, MiB or GiB (powers of 1024), and every
//! rate in the same units per hour (`MiB/h`). V8 itself counts in these units (its
//! `--trace-gc` "MB" are MiB), Prometheus exporters give bytes, and alert rules divide by
//! 1048576 and say MiB. JSON outputs carry exact bytes (and bytes per hour), never rounded
//! human figures. Sizes given on the command line (`--memory-limit 512M`) are read by
//! [`parse_size`] with the same convention: K, M, G mean KiB, MiB, GiB.

pub const KIB: f64 = 1024.0;
pub const MIB: f64 = 1024.0 * 1024.0;
pub const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

/// Bytes in a short human form: `512 B`, `8.3 KiB`, `13.3 MiB`, `1.52 GiB`.
pub fn bytes(b: f64) -> String {
    if !b.is_finite() {
        return "n/a".into();
    }
    let a = b.abs();
    if a >= GIB {
        format!("{:.2} GiB", b / GIB)
    } else if a >= MIB {
        format!("{:.1} MiB", b / MIB)
    } else if a >= KIB {
        format!("{:.1} KiB", b / KIB)
    } else {
        format!("{b:.0} B")
    }
}

/// [`bytes`] for an exact count.
pub fn bytes_u64(b: u64) -> String {
    bytes(b as f64)
}

/// A signed size change: `+13.3 MiB`, `-512 B`, `0 B`.
pub fn bytes_delta(b: f64) -> String {
    if b > 0.0 {
        format!("+{}", bytes(b))
    } else {
        bytes(b)
    }
}

/// A growth rate given in bytes per hour, in the unit that reads best: `454 MiB/h`,
/// `5.7 MiB/h`, `12.0 KiB/h`.
pub fn rate_per_hour(bytes_per_hour: f64) -> String {
    if !bytes_per_hour.is_finite() {
        return "n/a".into();
    }
    let a = bytes_per_hour.abs();
    let (v, unit) = if a >= GIB {
        (bytes_per_hour / GIB, "GiB/h")
    } else if a >= MIB {
        (bytes_per_hour / MIB, "MiB/h")
    } else if a >= KIB {
        (bytes_per_hour / KIB, "KiB/h")
    } else {
        (bytes_per_hour, "B/h")
    };
    let va = v.abs();
    if va >= 100.0 || v == 0.0 {
        format!("{v:.0} {unit}")
    } else if va >= 10.0 {
        format!("{v:.1} {unit}")
    } else {
        format!("{v:.2} {unit}")
    }
}

/// Reads a size: `268435456`, `256M`, `256MiB`, `256mb`, `1.5G`, `512k`. K, M, G (with or
/// without `i` and `B`) are powers of 1024, per the convention above.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a size (examples: 268435456, 256M, 2GiB)"))?;
    let mult = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" | "ki" | "kib" => KIB,
        "m" | "mb" | "mi" | "mib" => MIB,
        "g" | "gb" | "gi" | "gib" => GIB,
        "t" | "tb" | "ti" | "tib" => GIB * 1024.0,
        _ => {
            return Err(format!(
                "{s:?}: unknown unit (use K, M, G or T; powers of 1024)"
            ));
        }
    };
    let v = n * mult;
    if !(v.is_finite() && (0.0..1.8e19).contains(&v)) {
        return Err(format!("{s:?} is out of range"));
    }
    Ok(v.round() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_and_written_in_binary_units() {
        assert_eq!(parse_size("512M"), Ok(512 << 20));
        assert_eq!(parse_size("512MiB"), Ok(512 << 20));
        assert_eq!(parse_size("1.5g"), Ok(3 << 29));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert!(parse_size("12 parsecs").is_err());
        assert!(parse_size("").is_err());
        assert_eq!(bytes(13.3 * MIB), "13.3 MiB");
        assert_eq!(bytes(512.0), "512 B");
        assert_eq!(bytes_delta(8.3 * KIB), "+8.3 KiB");
        assert_eq!(rate_per_hour(454.0 * MIB), "454 MiB/h");
        assert_eq!(rate_per_hour(5.7 * MIB), "5.70 MiB/h");
    }
}
