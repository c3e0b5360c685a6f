//! Users and groups of an image, by name or number, from its own
//! `/etc/passwd` and `/etc/group`, as Docker reads them: who a native
//! container runs as, and who owns what `COPY --chown` and `WORKDIR` make.

use cap_std::fs::Dir;

use crate::{Error, Result};

/// Who the process runs as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct User {
    pub uid: u32,
    pub gid: u32,
    pub groups: Vec<u32>,
    pub home: String,
}

/// `USER[:GROUP]`, by name or number, resolved in the rootfs' `/etc/passwd`
/// and `/etc/group` as Docker does; none means root.
pub(crate) fn user(rootfs: &Dir, wanted: Option<&str>) -> Result<User> {
    let wanted = wanted.filter(|w| !w.is_empty()).unwrap_or("0");
    let (name, group) = match wanted.split_once(':') {
        Some((name, group)) => (name, Some(group)),
        None => (wanted, None),
    };
    let passwd = rootfs.read_to_string("etc/passwd").unwrap_or_default();
    // name:x:uid:gid:gecos:home:shell
    let entry = passwd
        .lines()
        .map(|l| l.split(':').collect::<Vec<_>>())
        .find(|f| f.len() >= 7 && (f[0] == name || f[2] == name));
    let (uid, mut gid, home, login) = match (&entry, name.parse::<u32>()) {
        (Some(f), _) => {
            (f[2].parse().unwrap_or(0), f[3].parse().unwrap_or(0), f[5].to_owned(), Some(f[0].to_owned()))
        }
        (None, Ok(uid)) => (uid, 0, "/".to_owned(), None),
        (None, Err(_)) => {
            return Err(Error::usage(format!(
                "unable to find user {name}: no matching entries in the image's /etc/passwd; give a \
                 numeric uid (-u 1000)"
            )));
        }
    };
    let groups_file = rootfs.read_to_string("etc/group").unwrap_or_default();
    // name:x:gid:member,member
    let groups: Vec<Vec<&str>> =
        groups_file.lines().map(|l| l.split(':').collect::<Vec<_>>()).filter(|f| f.len() >= 4).collect();
    if let Some(group) = group {
        gid = match groups.iter().find(|f| f[0] == group || f[2] == group) {
            Some(f) => f[2].parse().unwrap_or(0),
            None => group.parse().map_err(|_| {
                Error::usage(format!(
                    "unable to find group {group}: no matching entries in the image's /etc/group"
                ))
            })?,
        };
    }
    let supplementary = login.map_or_else(Vec::new, |login| {
        groups
            .iter()
            .filter(|f| f[3].split(',').any(|member| member == login))
            .filter_map(|f| f[2].parse().ok())
            .collect()
    });
    let home = if uid == 0 && entry.is_none() { "/root".to_owned() } else { home };
    Ok(User { uid, gid, groups: supplementary, home })
}

/// `--chown=USER[:GROUP]` of COPY and ADD: names or numbers, resolved in
/// the stage's files. Without a group, a user name takes its primary group
/// and a number the same number as the GID (what Docker does; the
/// reference says the UID for both).
pub(crate) fn owner(rootfs: &Dir, spec: &str) -> Result<(u32, u32)> {
    let (name, group) = match spec.split_once(':') {
        Some((name, group)) => (name, Some(group)),
        None => (spec, None),
    };
    let found = user(
        rootfs,
        Some(&match group {
            Some(group) => format!("{name}:{group}"),
            None => name.to_owned(),
        }),
    )
    .map_err(|e| Error::usage(format!("--chown={spec}: {e}")))?;
    let by_number = name.parse::<u32>().is_ok();
    Ok((found.uid, if group.is_none() && by_number { found.uid } else { found.gid }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rootfs(files: &[(&str, &str)]) -> (tempfile::TempDir, Dir) {
        let temp = tempfile::tempdir().unwrap();
        for (path, text) in files {
            let full = temp.path().join(path);
            std::fs::create_dir_all(full.parent().unwrap()).unwrap();
            std::fs::write(&full, text).unwrap();
        }
        let dir = Dir::open_ambient_dir(temp.path(), cap_std::ambient_authority()).unwrap();
        (temp, dir)
    }

    #[test]
    fn users_by_name_or_number() {
        let (_t, dir) = rootfs(&[
            ("etc/passwd", "root:x:0:0:root:/root:/bin/sh\nwww:x:33:33:www:/var/www:/bin/false\n"),
            ("etc/group", "root:x:0:\nwww:x:33:\nstaff:x:50:www\n"),
        ]);
        assert_eq!(user(&dir, None).unwrap(), User { uid: 0, gid: 0, groups: vec![], home: "/root".into() });
        let www = user(&dir, Some("www")).unwrap();
        assert_eq!((www.uid, www.gid, www.groups, www.home.as_str()), (33, 33, vec![50], "/var/www"));
        assert_eq!(user(&dir, Some("1000:staff")).unwrap().gid, 50);
        assert_eq!(user(&dir, Some("1000")).unwrap().uid, 1000);
        assert!(user(&dir, Some("nobody")).is_err());
        assert!(user(&dir, Some("www:nogroup")).is_err());
    }

    #[test]
    fn chown_names_and_numbers() {
        let (_t, dir) = rootfs(&[
            ("etc/passwd", "root:x:0:0:root:/root:/bin/sh\nwww:x:33:34:www:/var/www:/bin/false\n"),
            ("etc/group", "root:x:0:\nwww:x:34:\nstaff:x:50:www\n"),
        ]);
        assert_eq!(owner(&dir, "www").unwrap(), (33, 34), "no group: the user's own");
        assert_eq!(owner(&dir, "www:staff").unwrap(), (33, 50));
        assert_eq!(owner(&dir, "10:www").unwrap(), (10, 34));
        assert_eq!(owner(&dir, "7").unwrap(), (7, 7));
        assert!(owner(&dir, "nobody").unwrap_err().to_string().contains("--chown=nobody"));
    }
}
