//! `berth buildah config`'s flags (Buildah's names), turned into
//! [`berth_build::verbs::config::ConfigOptions`].

use berth_build::verbs::config::ConfigOptions;
use clap::Args;

#[derive(Args)]
pub struct ConfigArgs {
    /// The working container (name or id).
    container: String,
    /// Default command: a JSON array, or words.
    #[arg(long, value_name = "COMMAND")]
    cmd: Option<String>,
    /// Entry point: a JSON array, or a command run by `/bin/sh -c` ("" clears it).
    #[arg(long, value_name = "ENTRYPOINT", allow_hyphen_values = true)]
    entrypoint: Option<String>,
    /// Add an environment variable (KEY=VALUE; KEY- removes it).
    #[arg(short, long, value_name = "KEY=VALUE")]
    env: Vec<String>,
    /// Add a label (KEY=VALUE; KEY- removes it).
    #[arg(short, long, value_name = "KEY=VALUE")]
    label: Vec<String>,
    /// Expose a port (PORT[/PROTO]; PORT- removes it).
    #[arg(short, long, value_name = "PORT")]
    port: Vec<String>,
    /// Default user (USER[:GROUP]).
    #[arg(short, long)]
    user: Option<String>,
    /// Working directory.
    #[arg(long, value_name = "DIR")]
    workingdir: Option<String>,
    /// Add a volume (PATH; PATH- removes it).
    #[arg(short, long, value_name = "PATH")]
    volume: Vec<String>,
    /// Author of the image.
    #[arg(long)]
    author: Option<String>,
    /// How the image was made (the committed layer's history entry).
    #[arg(long, value_name = "DESCRIPTION")]
    created_by: Option<String>,
    /// The comment of the committed layer's history entry (default `FROM <base image>`).
    #[arg(long, value_name = "COMMENT")]
    history_comment: Option<String>,
    /// Add a manifest annotation (KEY=VALUE; KEY- removes it).
    #[arg(short, long, value_name = "KEY=VALUE")]
    annotation: Vec<String>,
    /// Health check: NONE, CMD-SHELL COMMAND, or CMD ["PROG", "ARG"…].
    #[arg(long)]
    healthcheck: Option<String>,
    /// Interval between health checks (default 30s).
    #[arg(long, value_name = "DURATION")]
    healthcheck_interval: Option<String>,
    /// Time a health check may take (default 30s).
    #[arg(long, value_name = "DURATION")]
    healthcheck_timeout: Option<String>,
    /// Time after the start before failures count.
    #[arg(long, value_name = "DURATION")]
    healthcheck_start_period: Option<String>,
    /// Failures in a row before unhealthy (default 3).
    #[arg(long, value_name = "N")]
    healthcheck_retries: Option<String>,
    /// Add an ONBUILD trigger (an instruction).
    #[arg(long, value_name = "INSTRUCTION")]
    onbuild: Vec<String>,
    /// Shell for shell-form commands (a JSON array, or words).
    #[arg(long)]
    shell: Option<String>,
    /// Signal that stops a container of the image.
    #[arg(long, value_name = "SIGNAL")]
    stop_signal: Option<String>,
    /// Operating system of the image.
    #[arg(long)]
    os: Option<String>,
    /// Architecture of the image.
    #[arg(long)]
    arch: Option<String>,
    /// Architecture variant of the image.
    #[arg(long)]
    variant: Option<String>,
}

impl ConfigArgs {
    pub fn container(&self) -> &str {
        &self.container
    }

    pub fn options(self: Box<Self>) -> ConfigOptions {
        ConfigOptions {
            cmd: self.cmd,
            entrypoint: self.entrypoint,
            env: self.env,
            labels: self.label,
            ports: self.port,
            user: self.user,
            workingdir: self.workingdir,
            volumes: self.volume,
            author: self.author,
            created_by: self.created_by,
            history_comment: self.history_comment,
            annotations: self.annotation,
            healthcheck: self.healthcheck,
            healthcheck_interval: self.healthcheck_interval,
            healthcheck_timeout: self.healthcheck_timeout,
            healthcheck_start_period: self.healthcheck_start_period,
            healthcheck_retries: self.healthcheck_retries,
            onbuild: self.onbuild,
            shell: self.shell,
            stop_signal: self.stop_signal,
            os: self.os,
            arch: self.arch,
            variant: self.variant,
        }
    }
}
