//! Planning: instructions → stages, the target stage, and the stages it needs (through
//! `FROM <stage>` and `COPY --from=<stage|index>`); other stages are skipped.

use std::collections::BTreeSet;

use crate::ast::{Containerfile, Instruction, Kind};
use crate::error::{BuildError, Result};

/// One `FROM` and the instructions up to the next.
#[derive(Debug, Clone)]
pub struct Stage {
    pub index: usize,
    /// `AS name` (lower case).
    pub name: Option<String>,
    pub from: Instruction,
    pub steps: Vec<Instruction>,
}

/// The stages of a Containerfile and the ARGs declared before the first FROM.
#[derive(Debug, Clone)]
pub struct Plan {
    pub global_args: Vec<Instruction>,
    pub stages: Vec<Stage>,
}

impl Plan {
    /// Split `file` into stages; only ARG may come before the first FROM.
    pub fn new(file: &Containerfile) -> Result<Plan> {
        let mut global_args = Vec::new();
        let mut stages: Vec<Stage> = Vec::new();
        for ins in &file.instructions {
            match (&ins.kind, stages.last_mut()) {
                (Kind::From { alias, .. }, _) => {
                    if let Some(a) = alias {
                        if stages.iter().any(|s| s.name.as_deref() == Some(a)) {
                            return Err(parse_err(
                                file,
                                ins,
                                format!("duplicate stage name {a:?}"),
                            ));
                        }
                    }
                    stages.push(Stage {
                        index: stages.len(),
                        name: alias.clone(),
                        from: ins.clone(),
                        steps: Vec::new(),
                    })
                }
                (_, Some(stage)) => stage.steps.push(ins.clone()),
                (Kind::Arg(_), None) => global_args.push(ins.clone()),
                (_, None) => {
                    return Err(parse_err(
                        file,
                        ins,
                        format!(
                            "{} before the first FROM (only ARG may come first)",
                            ins.keyword()
                        ),
                    ))
                }
            }
        }
        if stages.is_empty() {
            return Err(BuildError::Parse {
                file: file.file.clone(),
                line: 1,
                col: 1,
                message: "no FROM instruction".to_string(),
            });
        }
        Ok(Plan {
            global_args,
            stages,
        })
    }

    /// The stage named `s` (case-insensitive) or with index `s`, among the first `before`.
    pub fn find(&self, s: &str, before: usize) -> Option<usize> {
        let lower = s.to_ascii_lowercase();
        if let Some(st) = self.stages[..before]
            .iter()
            .find(|st| st.name.as_deref() == Some(lower.as_str()))
        {
            return Some(st.index);
        }
        s.parse::<usize>().ok().filter(|i| *i < before)
    }

    /// `--target`: the named stage, else the last.
    pub fn target(&self, target: Option<&str>) -> Result<usize> {
        match target {
            None => Ok(self.stages.len() - 1),
            Some(t) => self
                .stages
                .iter()
                .find(|s| s.name.as_deref() == Some(t.to_ascii_lowercase().as_str()))
                .map(|s| s.index)
                .ok_or_else(|| {
                    BuildError::Invalid(format!("--target {t:?}: no stage has that name"))
                }),
        }
    }

    /// The stages `target` needs, itself included, in build order. `from_image` gives a
    /// stage's FROM argument after expansion with the global ARGs.
    pub fn needed(&self, target: usize, from_image: &dyn Fn(&Stage) -> String) -> Vec<usize> {
        let mut need = BTreeSet::new();
        let mut todo = vec![target];
        while let Some(i) = todo.pop() {
            if !need.insert(i) {
                continue;
            }
            todo.extend(self.deps(i, from_image));
        }
        need.into_iter().collect()
    }

    /// The stages stage `i` uses directly (`FROM <stage>`, `COPY --from=<stage>`).
    pub fn deps(&self, i: usize, from_image: &dyn Fn(&Stage) -> String) -> Vec<usize> {
        let stage = &self.stages[i];
        let mut out: Vec<usize> = self.find(&from_image(stage), i).into_iter().collect();
        for step in &stage.steps {
            if let (Kind::Copy { .. } | Kind::Add { .. }, Some(from)) =
                (&step.kind, step.flag("from"))
            {
                out.extend(self.find(from, i));
            }
            // RUN --mount=…,from=<stage>
            if let Kind::Run(_) = step.kind {
                let mounts = step.flags.iter().filter(|f| f.name == "mount");
                for value in mounts.filter_map(|f| f.value.as_deref()) {
                    let from = value.split(',').find_map(|p| p.strip_prefix("from="));
                    out.extend(from.and_then(|f| self.find(f, i)));
                }
            }
        }
        out
    }
}

fn parse_err(file: &Containerfile, ins: &Instruction, message: String) -> BuildError {
    BuildError::Parse {
        file: file.file.clone(),
        line: ins.span.line,
        col: ins.span.col,
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse;

    fn plan(text: &str) -> Plan {
        Plan::new(&parse("Containerfile", text).unwrap()).unwrap()
    }

    #[test]
    fn unneeded_stages_are_skipped() {
        let p = plan(
            "ARG X=1\nFROM a AS one\nRUN x\nFROM b AS two\nFROM one AS three\nCOPY --from=0 /a /b\nFROM c\n",
        );
        assert_eq!(p.global_args.len(), 1);
        let raw = |s: &Stage| match &s.from.kind {
            Kind::From { image, .. } => image.clone(),
            _ => String::new(),
        };
        assert_eq!(p.needed(p.target(Some("three")).unwrap(), &raw), vec![0, 2]);
        assert_eq!(p.needed(p.target(None).unwrap(), &raw), vec![3]);
        assert!(p.target(Some("nope")).is_err());
        // What --jobs waits for: each stage's direct dependencies.
        assert_eq!(p.deps(0, &raw), Vec::<usize>::new());
        assert_eq!(p.deps(2, &raw), vec![0, 0]);
        assert_eq!(p.deps(3, &raw), Vec::<usize>::new());
        let p = plan("FROM a AS one\nFROM b\nRUN --mount=type=bind,from=one,target=/o true\n");
        assert_eq!(p.needed(1, &raw), vec![0, 1]);
    }

    #[test]
    fn instruction_before_from_is_refused() {
        let f = parse("Containerfile", "RUN x\nFROM a\n").unwrap();
        let e = Plan::new(&f).unwrap_err().to_string();
        assert!(
            e.starts_with("Containerfile:1:1: RUN before the first FROM"),
            "{e}"
        );
        let f = parse("Containerfile", "FROM a AS x\nFROM b AS X\n").unwrap();
        assert!(Plan::new(&f)
            .unwrap_err()
            .to_string()
            .contains("duplicate stage"));
    }
}
