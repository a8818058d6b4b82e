//! `build --progress`: `json` is one event per line on stdout (every line parses; step
//! started, output, cached, finished with its time and layer, built or error), and `plain`
//! (also what `auto` gives without a terminal) prints what `build` always printed.

use serde_json::Value;

use super::{assert_clean, context};
use crate::run::{busybox, RunEnv};

const STEPS: &str = "FROM busybox\n\
     COPY f /f\n\
     RUN echo out-of-run && echo second-line\n\
     ENV A=1\n";

/// Every stdout line as JSON (a line that does not parse fails the test).
fn events(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l:?}")))
        .collect()
}

fn of<'a>(events: &'a [Value], kind: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["event"] == kind).collect()
}

fn json_build(r: &RunEnv, ctx: &str) -> Vec<Value> {
    events(&r.ok(&["build", "--progress=json", "-t", "j", ctx]))
}

#[test]
fn build_progress_json_is_one_event_per_line() {
    let r = busybox();
    let ctx = context(&r, "ctx", &[("f", "f\n"), ("Containerfile", STEPS)]);
    let c = ctx.to_str().unwrap();
    let first = json_build(&r, c);
    let started = of(&first, "step_started");
    let texts: Vec<&str> = started
        .iter()
        .map(|e| e["instruction"].as_str().unwrap())
        .collect();
    assert_eq!(
        texts,
        [
            "FROM busybox",
            "COPY f /f",
            "RUN echo out-of-run && echo second-line",
            "ENV A=1"
        ]
    );
    assert!(started.iter().all(|e| e["steps"] == 4 && e["stages"] == 1));
    let finished = of(&first, "step_finished");
    assert_eq!(finished.len(), 4, "{first:?}");
    for (i, f) in finished.iter().enumerate() {
        assert_eq!(f["step"], i + 1);
        assert!(f["duration"].as_f64().unwrap() >= 0.0, "{f}");
        assert_eq!(f["id"].as_str().unwrap().len(), 64, "{f}");
        // COPY and RUN add a layer; FROM and ENV do not.
        let layer = f["layer"].as_str();
        assert_eq!(layer.is_some(), i == 1 || i == 2, "{f}");
        assert!(layer.is_none_or(|l| l.starts_with("sha256:")), "{f}");
    }
    // RUN's output, between its start and its end.
    let pos = |pred: &dyn Fn(&Value) -> bool| first.iter().position(pred).unwrap();
    let run_start = pos(&|e| e["event"] == "step_started" && e["step"] == 3);
    let run_end = pos(&|e| e["event"] == "step_finished" && e["step"] == 3);
    let out1 = pos(&|e| e["event"] == "output" && e["line"] == "out-of-run");
    let out2 = pos(&|e| e["event"] == "output" && e["line"] == "second-line");
    assert!(
        run_start < out1 && out1 < out2 && out2 < run_end,
        "{first:?}"
    );
    assert!(of(&first, "cached").is_empty(), "{first:?}");
    let built = first.last().unwrap();
    assert_eq!(built["event"], "built", "{first:?}");
    assert_eq!(built["names"][0], "localhost/j:latest");
    let id = built["id"].as_str().unwrap().to_string();

    // Again: COPY, RUN and ENV (its created time) from the cache, nothing runs, the same
    // image.
    let second = json_build(&r, c);
    let cached: Vec<u64> = of(&second, "cached")
        .iter()
        .map(|e| e["step"].as_u64().unwrap())
        .collect();
    assert_eq!(cached, [2, 3, 4], "{second:?}");
    assert!(of(&second, "output").is_empty(), "{second:?}");
    assert_eq!(second.last().unwrap()["id"], id.as_str());

    // A failing step: still only JSON on stdout, an error event last, RUN's exit code.
    let bad = context(
        &r,
        "bad",
        &[("Containerfile", "FROM busybox\nRUN echo failing; exit 3\n")],
    );
    let (code, stdout, stderr) = r.code(&["build", "--progress=json", bad.to_str().unwrap()]);
    assert_eq!(code, Some(3), "{stderr}");
    let failed = events(&stdout);
    let last = failed.last().unwrap();
    assert_eq!(last["event"], "error", "{failed:?}");
    assert!(last["message"].as_str().unwrap().contains("exit"), "{last}");
    assert!(of(&failed, "output").iter().any(|e| e["line"] == "failing"));
    assert!(stderr.contains("Error:"), "{stderr}");
    assert_clean(&r);
}

#[test]
fn build_progress_plain_is_what_build_printed() {
    let r = busybox();
    let ctx = context(
        &r,
        "ctx",
        &[
            ("f", "f\n"),
            ("Containerfile", "FROM busybox\nCOPY f /f\nRUN echo hi\n"),
        ],
    );
    let c = ctx.to_str().unwrap();
    let build = |extra: &[&str]| {
        let mut args = vec!["build", "--no-cache", "--timestamp", "0", "-t", "p"];
        args.extend_from_slice(extra);
        args.push(c);
        r.ok(&args)
    };
    // Without a terminal, the default (`auto`) is plain.
    let default = build(&[]);
    let plain = build(&["--progress=plain"]);
    assert_eq!(plain, default);
    let lines: Vec<&str> = plain.lines().collect();
    assert_eq!(lines[0], "STEP 1/3: FROM busybox", "{plain}");
    assert!(lines.contains(&"STEP 3/3: RUN echo hi"), "{plain}");
    assert!(lines.contains(&"hi"), "{plain}");
    assert!(lines.contains(&"COMMIT p"), "{plain}");
    assert!(!plain.contains("\"event\""), "{plain}");
    let err = r.code(&["build", "--progress=fancy", c]).2;
    assert!(err.contains("auto, tty, plain or json"), "{err}");
    assert_clean(&r);
}
