//! Rebuilding from the cache makes the same image, as Buildah: every step's created time is
//! part of its cached result (a layer step's and a metadata step's alike), so the history and
//! the image's created time repeat, and the name stays on the same id instead of leaving the
//! last build's image behind as `<none>`.

use super::{assert_clean, context};
use crate::run::busybox;

#[test]
fn a_cached_rebuild_makes_the_same_image() {
    let r = busybox();
    let ctx = context(
        &r,
        "ctx",
        &[
            ("f", "from the context\n"),
            (
                "Containerfile",
                // Metadata steps first after FROM, a WORKDIR that makes a layer, another
                // stage copied from, HEALTHCHECK and ARG: every kind of step.
                "FROM busybox AS tools\n\
                 ENV STAGE=tools\n\
                 RUN echo tool > /tool\n\
                 FROM busybox\n\
                 LABEL org.example.k=v\n\
                 ARG WHO=me\n\
                 ENV A=1\n\
                 HEALTHCHECK --interval=5s CMD true\n\
                 WORKDIR /newdir/sub\n\
                 COPY f /f\n\
                 COPY --from=tools /tool /tool\n\
                 RUN echo $WHO > /who\n\
                 CMD [\"cat\", \"/who\"]\n",
            ),
        ],
    );
    let c = ctx.to_str().unwrap();
    let build = |extra: &[&str]| {
        let mut args = vec!["build", "-q"];
        args.extend_from_slice(extra);
        args.extend(["-t", "same", c]);
        r.ok(&args).trim().to_string()
    };
    let first = build(&[]);
    // Times in the history are at least a second apart from the first build's clock reading.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let second = build(&[]);
    assert_eq!(second, first, "a rebuild from the cache made a new image");
    let third = build(&["--jobs", "2"]);
    assert_eq!(third, first);
    let images = r.ok(&["images", "-a"]);
    assert!(!images.contains("<none>"), "{images}");
    assert_eq!(r.ok(&["images", "-q"]).lines().count(), 2, "{images}");
    // A step that runs makes a new image; the steps before it keep their times.
    let fresh = build(&["--build-arg", "WHO=you"]);
    assert_ne!(fresh, first);
    let history = |image: &str| -> Vec<serde_json::Value> {
        let v: serde_json::Value =
            serde_json::from_str(&r.ok(&["image", "inspect", image])).unwrap();
        v[0]["History"].as_array().unwrap().clone()
    };
    let (old, new) = (history(&first), history(&fresh));
    assert_eq!(old.len(), new.len());
    let last = old.len() - 2;
    assert_eq!(old[..last], new[..last], "cached steps kept their times");
    assert_ne!(old[last]["created"], new[last]["created"], "the RUN ran");
    // --no-cache runs everything: a new image.
    assert_ne!(build(&["--no-cache"]), first);
    assert_clean(&r);
}
