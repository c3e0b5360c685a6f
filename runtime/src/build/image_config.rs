//! The instructions that change only the image's config: CMD, ENTRYPOINT,
//! LABEL, EXPOSE, USER, VOLUME, SHELL, STOPSIGNAL, HEALTHCHECK, ONBUILD and
//! MAINTAINER.

use serde_json::json;

use super::dockerfile::{Command, Op};
use super::{Stage, argv, exposed_ports, process};
use crate::Result;

/// Applies one of them to the stage's config.
pub(super) fn apply(
    stage: &mut Stage,
    kind: &Op,
    expand: &dyn Fn(&str) -> Result<String>,
    escape: char,
) -> Result<()> {
    match kind {
        Op::Maintainer(author) => {
            stage.author = Some(author.clone());
        }
        Op::Entrypoint(command) => {
            stage.config.insert("Entrypoint".into(), json!(argv(command, &stage.config)));
            // Docker: a new ENTRYPOINT resets a CMD from the base image,
            // not one this stage set.
            if !stage.cmd_set {
                stage.config.remove("Cmd");
            }
        }
        Op::Cmd(command) => {
            stage.cmd_set = true;
            stage.config.insert("Cmd".into(), json!(argv(command, &stage.config)));
        }
        Op::Label(pairs) => {
            let labels = stage.config.entry("Labels").or_insert_with(|| json!({}));
            for (k, v) in pairs {
                labels[process(k, &stage.vars, escape)?] = json!(process(v, &stage.vars, escape)?);
            }
        }
        Op::Expose(ports) => {
            let exposed = stage.config.entry("ExposedPorts").or_insert_with(|| json!({}));
            for port in ports {
                for port in exposed_ports(&expand(port)?)? {
                    exposed[port] = json!({});
                }
            }
        }
        Op::User(user) => {
            stage.config.insert("User".into(), json!(expand(user)?));
        }
        Op::Volume(paths) => {
            let volumes = stage.config.entry("Volumes").or_insert_with(|| json!({}));
            for path in paths {
                volumes[expand(path)?] = json!({});
            }
        }
        Op::Shell(shell) => {
            stage.config.insert("Shell".into(), json!(shell));
        }
        Op::StopSignal(signal) => {
            stage.config.insert("StopSignal".into(), json!(expand(signal)?));
        }
        Op::Healthcheck(check) => {
            let test = match &check.command {
                None => json!(["NONE"]),
                Some(Command::Exec(words)) => {
                    json!(["CMD"].into_iter().chain(words.iter().map(String::as_str)).collect::<Vec<_>>())
                }
                Some(Command::Shell(line)) => json!(["CMD-SHELL", line]),
            };
            let mut healthcheck = json!({ "Test": test });
            for (key, value) in [
                ("Interval", check.interval),
                ("Timeout", check.timeout),
                ("StartPeriod", check.start_period),
                ("StartInterval", check.start_interval),
            ] {
                if let Some(nanos) = value.filter(|n| *n > 0) {
                    healthcheck[key] = json!(nanos);
                }
            }
            if let Some(retries) = check.retries.filter(|r| *r > 0) {
                healthcheck["Retries"] = json!(retries);
            }
            stage.config.insert("Healthcheck".into(), healthcheck);
        }
        Op::OnBuild(trigger) => {
            let triggers = stage.config.entry("OnBuild").or_insert_with(|| json!([]));
            triggers.as_array_mut().expect("OnBuild is a list").push(json!(trigger));
        }
        Op::Run { .. } | Op::Copy { .. } | Op::Workdir(_) | Op::Env(_) | Op::Arg(_) => {
            unreachable!("{kind:?} makes a layer or sets variables")
        }
    }
    Ok(())
}
