//! The HTML report opens in headless Chromium (Debian's `chromium`, networking off) without
//! console errors, its screenshot is not blank, and HTML/script in the evidence (class names,
//! edges, code, file names, the service name) renders as text: the DOM Chromium builds has
//! no element that came from the evidence.

mod report_support;
use report_support::*;
use std::io::Read;
use std::path::Path;
use std::process::Command;

fn chromium(html: &Path, extra: &[&str]) -> (String, String) {
    let profile = tempfile::tempdir().unwrap();
    let mut args: Vec<String> = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-extensions",
        "--enable-logging=stderr",
        "--v=0",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.push(format!("--user-data-dir={}", profile.path().display()));
    args.extend(extra.iter().map(|s| s.to_string()));
    args.push(format!("file://{}", html.display()));
    let out = Command::new("chromium")
        .args(&args)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("chromium must be installed (scripts/setup.sh installs Debian's chromium)");
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Console messages Chromium logged for the page (`CONSOLE(...)` lines), and script errors.
fn console_problems(stderr: &str) -> Vec<String> {
    stderr
        .lines()
        .filter(|l| {
            l.contains("CONSOLE")
                || l.contains("Uncaught")
                || l.contains("Content Security Policy")
                || l.contains("Refused to")
        })
        .map(str::to_string)
        .collect()
}

/// Decodes an 8-bit RGB/RGBA PNG enough to count its colours: returns (width, height, pixels).
fn decode_png(bytes: &[u8]) -> (usize, usize, Vec<[u8; 3]>) {
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
    let mut pos = 8;
    let (mut w, mut h, mut color, mut depth) = (0usize, 0usize, 0u8, 0u8);
    let mut idat = Vec::new();
    while pos + 8 <= bytes.len() {
        let len = u32::from_be_bytes(bytes[pos..pos + 4].try_into().unwrap()) as usize;
        let kind = &bytes[pos + 4..pos + 8];
        let data = &bytes[pos + 8..pos + 8 + len];
        match kind {
            b"IHDR" => {
                w = u32::from_be_bytes(data[0..4].try_into().unwrap()) as usize;
                h = u32::from_be_bytes(data[4..8].try_into().unwrap()) as usize;
                depth = data[8];
                color = data[9];
            }
            b"IDAT" => idat.extend_from_slice(data),
            _ => {}
        }
        pos += 12 + len;
    }
    assert_eq!(depth, 8, "bit depth");
    let bpp = match color {
        2 => 3,
        6 => 4,
        c => panic!("PNG colour type {c} not handled"),
    };
    let mut raw = Vec::new();
    flate2::read::ZlibDecoder::new(&idat[..])
        .read_to_end(&mut raw)
        .unwrap();
    let stride = w * bpp;
    assert_eq!(raw.len(), h * (stride + 1), "inflated size");
    let mut prev = vec![0u8; stride];
    let mut px = Vec::with_capacity(w * h);
    for y in 0..h {
        let f = raw[y * (stride + 1)];
        let mut line = raw[y * (stride + 1) + 1..(y + 1) * (stride + 1)].to_vec();
        for i in 0..stride {
            let a = if i >= bpp { line[i - bpp] as i32 } else { 0 };
            let b = prev[i] as i32;
            let c = if i >= bpp { prev[i - bpp] as i32 } else { 0 };
            let add = match f {
                0 => 0,
                1 => a,
                2 => b,
                3 => (a + b) / 2,
                4 => {
                    let p = a + b - c;
                    let (pa, pb, pc) = ((p - a).abs(), (p - b).abs(), (p - c).abs());
                    if pa <= pb && pa <= pc {
                        a
                    } else if pb <= pc {
                        b
                    } else {
                        c
                    }
                }
                other => panic!("bad PNG filter {other}"),
            };
            line[i] = (line[i] as i32 + add) as u8;
        }
        for x in 0..w {
            px.push([line[x * bpp], line[x * bpp + 1], line[x * bpp + 2]]);
        }
        prev = line;
    }
    (w, h, px)
}

#[test]
fn report_renders_in_chromium_without_console_errors_and_is_not_blank() {
    let (tmp, out) = run_case("full");
    let html = out.join("report.html");
    let shot = tmp.path().join("shot.png");
    let (_o, err) = chromium(
        &html,
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1200,3600",
        ],
    );
    let problems = console_problems(&err);
    assert!(problems.is_empty(), "console problems: {problems:#?}");
    let png = std::fs::read(&shot).unwrap();
    assert!(
        png.len() > 20_000,
        "screenshot is suspiciously small: {} bytes",
        png.len()
    );
    let (w, h, px) = decode_png(&png);
    assert_eq!((w, h), (1200, 3600));
    let mut colours: Vec<[u8; 3]> = px.clone();
    colours.sort_unstable();
    colours.dedup();
    assert!(
        colours.len() > 100,
        "only {} colours: blank page?",
        colours.len()
    );
    let dark = px.iter().filter(|p| p.iter().all(|c| *c < 100)).count();
    assert!(
        dark * 200 > px.len(),
        "less than 0.5% dark pixels ({dark}): no text rendered?"
    );
    // every chart series is drawn in its colour
    let j: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    for c in j["charts"]["memory"].as_array().unwrap() {
        for se in c["series"].as_array().unwrap() {
            let slot = se["color"].as_u64().unwrap() as usize;
            let n = count_colour(&px, PALETTE[slot]);
            assert!(
                n > 20,
                "series {} is not drawn ({n} pixels of {})",
                se["name"],
                PALETTE[slot]
            );
        }
    }
}

/// The colour slots of `report::svg` (kept in step with it by this test).
const PALETTE: [&str; 7] = [
    "#1f6feb", "#8250df", "#1a7f37", "#0a7b83", "#9a6700", "#d9480f", "#57606a",
];

/// Pixels within a small distance of `hex` (anti-aliasing blends edges).
fn count_colour(px: &[[u8; 3]], hex: &str) -> usize {
    let c = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).unwrap() as i32;
    let (r, g, b) = (c(1), c(3), c(5));
    px.iter()
        .filter(|p| {
            (p[0] as i32 - r).abs() + (p[1] as i32 - g).abs() + (p[2] as i32 - b).abs() < 40
        })
        .count()
}

/// The demo report in headless Chromium: its memory charts are drawn (every series in its
/// colour, a dashed trend per fitted source, the axes with units and wall-clock times), and
/// each trend is drawn only over the window it was fitted on.
#[test]
fn demo_report_charts_render_in_chromium_and_tell_the_same_story() {
    let tmp = tempfile::tempdir().unwrap();
    let st = Command::new(env!("CARGO_BIN_EXE_memsleuth"))
        .args(["demo", "--out", "d"])
        .current_dir(tmp.path())
        .output()
        .unwrap();
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
    let out = tmp.path().join("d");
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    let j: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    let charts = j["charts"]["memory"].as_array().unwrap();
    assert!(!charts.is_empty(), "no memory chart");
    // one chart on wall-clock time holds the capture, the GC log, Prometheus and the snapshots
    let wall = charts
        .iter()
        .find(|c| c["wall_clock"] == true)
        .expect("a chart on wall-clock time");
    let names: Vec<&str> = wall["series"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    for want in ["capture", "GC log", "Prometheus", "heap snapshot totals"] {
        assert!(
            names.iter().any(|n| n.contains(want)),
            "{want} not on the wall-clock chart: {names:?}"
        );
    }
    // each trend lies within the samples of its own series: drawn over its fitted window
    let mut n_trends = 0;
    for c in charts {
        for t in c["trends"].as_array().unwrap() {
            n_trends += 1;
            let line = t["line"].as_array().unwrap();
            let (x0, x1) = (line[0].as_f64().unwrap(), line[2].as_f64().unwrap());
            let own = c["series"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|s| s["color"] == t["color"])
                .flat_map(|s| s["points"].as_array().unwrap().iter())
                .map(|p| p[0].as_f64().unwrap())
                .collect::<Vec<f64>>();
            let lo = own.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = own.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            assert!(
                x0 >= lo - 1.0 && x1 <= hi + 1.0 && x0 < x1,
                "trend {} [{x0}, {x1}] outside its series [{lo}, {hi}]",
                t["name"]
            );
        }
    }
    assert!(n_trends >= 2, "{n_trends} trends");
    assert_eq!(html.matches("class=\"trend\"").count(), n_trends);
    assert!(html.contains("memory (MiB)"), "y axis unit");
    assert!(html.contains("time (UTC), "), "x axis on wall-clock time");
    assert!(
        html.contains(">snapshot 1<") && html.contains("load ends<"),
        "markers"
    );
    // the page in Chromium: no console errors, the charts are drawn
    let shot = tmp.path().join("demo.png");
    let (_o, err) = chromium(
        &out.join("report.html"),
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1200,4200",
        ],
    );
    let problems = console_problems(&err);
    assert!(problems.is_empty(), "console problems: {problems:#?}");
    let (_w, _h, px) = decode_png(&std::fs::read(&shot).unwrap());
    for se in wall["series"].as_array().unwrap() {
        let slot = se["color"].as_u64().unwrap() as usize;
        let n = count_colour(&px, PALETTE[slot]);
        assert!(
            n > 20,
            "{} not drawn ({n} pixels of {})",
            se["name"],
            PALETTE[slot]
        );
    }
    // the limit line is drawn when in range, or said to be off the chart
    let red = count_colour(&px, "#b00020");
    assert!(
        red > 20,
        "the severity badge and limit are drawn ({red} red pixels)"
    );
}

#[test]
fn hostile_names_render_as_text() {
    let (_tmp, out) = run_case("hostile");
    let html_path = out.join("report.html");
    let source = std::fs::read_to_string(&html_path).unwrap();
    // the source: no markup from the evidence, all of it escaped
    for bad in [
        "<img",
        "<iframe",
        "<b>evil",
        "<script>alert",
        "</script><script>",
        "</code><script>",
    ] {
        assert!(!source.contains(bad), "unescaped {bad:?} in report.html");
    }
    for escaped in [
        "&lt;img src=x onerror=alert(1)&gt;",
        "&lt;script&gt;alert(6)&lt;/script&gt;",
        "&lt;b&gt;evil&lt;/b&gt;",
    ] {
        assert!(source.contains(escaped), "{escaped:?} not shown as text");
    }
    assert_eq!(source.matches("<script").count(), 0);
    // the DOM Chromium built: no script, img or iframe element; the names are text
    let (dom, err) = chromium(&html_path, &["--dump-dom"]);
    let problems = console_problems(&err);
    assert!(problems.is_empty(), "console problems: {problems:#?}");
    assert!(
        dom.contains("Memory Leak Investigation Report"),
        "DOM not dumped"
    );
    for tag in ["<script", "<img", "<iframe", "<b>"] {
        assert!(
            !dom.contains(tag),
            "the DOM has a {tag} element from the evidence"
        );
    }
    assert!(dom.contains("&lt;img src=x onerror=alert(1)&gt;"));
}

#[test]
fn html_is_self_contained() {
    let (_tmp, out) = run_case("full");
    let source = std::fs::read_to_string(out.join("report.html")).unwrap();
    for net in [
        "http://", "https://", "src=\"", "<link", "@import", "url(http",
    ] {
        let allowed = net == "http://"
            && source.matches(net).count()
                == source
                    .matches("xmlns=\"http://www.w3.org/2000/svg\"")
                    .count();
        assert!(
            allowed || !source.contains(net),
            "network reference {net:?} in report.html"
        );
    }
    assert!(source.contains("<style>"));
    let j: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    let charts = j["charts"]["memory"].as_array().unwrap().len()
        + usize::from(!j["charts"]["class_growth"].as_array().unwrap().is_empty())
        + usize::from(!j["charts"]["retainer"].as_array().unwrap().is_empty());
    assert_eq!(
        source.matches("<svg").count(),
        charts,
        "memory, growth and retainer charts"
    );
    assert!(source.contains("class=\"trend\""), "trend line drawn");
}
