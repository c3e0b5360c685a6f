//! Expected strings come from Go itself (text/template with docker/cli's
//! functions over the same data decoded from JSON), from docker/cli's own
//! tests (templates_test.go, formatter/*_test.go, tabwriter_test.go) and
//! from the examples in Docker's `--format` documentation. The tests of one
//! part sit in its file; these go through the public API end to end, and the
//! helpers serve them all.

use serde_json::{Value, json};

use super::{Format, Template, tabwrite};

pub(super) fn render(template: &str, data: Value) -> String {
    Template::parse(template).unwrap().render(&data).unwrap()
}

pub(super) fn parse_error(template: &str) -> String {
    Template::parse(template).err().expect("the template should not parse")
}

pub(super) fn exec_error(template: &str, data: Value) -> String {
    Template::parse(template).unwrap().render(&data).expect_err("the template should fail")
}

pub(super) fn container() -> Value {
    json!({
        "Name": "/Web_App",
        "Names": ["web", "frontend"],
        "Image": "alpine:latest",
        "Args": ["-c", "echo hi"],
        "Config": {"Env": ["PATH=/usr/bin", "Q=a&b<c>"], "Labels": {"k": "v"}},
        "State": {"Running": true},
        "Mounts": [{"Source": "/src", "Destination": "/data"}, {"Source": "/logs", "Destination": "/var/log"}],
    })
}

#[test]
fn format_parse_follows_docker_cli() {
    let Format::Raw(t) = Format::parse("json").unwrap() else { panic!("json is not a table") };
    assert_eq!(t.render(&json!({"b": 1, "a": "x"})).unwrap(), r#"{"a":"x","b":1}"#);
    let Format::Raw(t) = Format::parse(r"{{.ID}}\t{{.Image}}").unwrap() else { panic!("not a table") };
    assert_eq!(t.render(&json!({"ID": "i", "Image": "ubuntu"})).unwrap(), "i\tubuntu");
    assert!(matches!(Format::parse("table").unwrap(), Format::Table(_)));
    assert!(Format::parse("table {{.ID").is_err());
}

/// docker/cli's TestContainerContextWrite, "table" with size, end to end.
#[test]
fn docker_ps_default_table() {
    let format = r"table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}\t{{.Size}}";
    let Format::Table(t) = Format::parse(format).unwrap() else { panic!("a table format") };
    let headers = json!({"ID": "CONTAINER ID", "Image": "IMAGE", "Command": "COMMAND", "RunningFor": "CREATED",
        "Status": "STATUS", "Ports": "PORTS", "Names": "NAMES", "Size": "SIZE", "Labels": "LABELS"});
    let mut lines = vec![t.render_header(&headers)];
    for (id, name) in [("containerID1", "foobar_baz"), ("containerID2", "foobar_bar")] {
        let row = json!({"ID": id, "Image": "ubuntu", "Command": "\"\"", "RunningFor": "24 hours ago",
            "Status": "", "Ports": "", "Names": name, "Size": "0B"});
        lines.push(t.render(&row).unwrap());
    }
    assert_eq!(
        tabwrite(&lines),
        "CONTAINER ID   IMAGE     COMMAND   CREATED        STATUS    PORTS     NAMES        SIZE
containerID1   ubuntu    \"\"        24 hours ago                       foobar_baz   0B
containerID2   ubuntu    \"\"        24 hours ago                       foobar_bar   0B
"
    );
}

/// docker/cli's list rows implement MarshalJSON with json.Marshal, which
/// escapes HTML: `docker images --format '{{json .}}'` prints
/// `"Digest":"\u003cnone\u003e"`. The `json` function itself does not.
#[test]
fn json_of_a_row_escapes_html() {
    let row = json!({"Digest": "<none>", "Labels": "a=x&y", "Names": ["<a>"]});
    let row_json = |template: &str| Template::parse(template).unwrap().render_row(&row).unwrap();
    let escaped = r#"{"Digest":"\u003cnone\u003e","Labels":"a=x\u0026y","Names":["\u003ca\u003e"]}"#;
    assert_eq!(row_json("{{json .}}"), escaped);
    assert_eq!(row_json("{{json $}}"), escaped);
    assert_eq!(row_json("{{. | json}}"), escaped);
    assert_eq!(row_json("{{with .}}{{json .}}{{end}}"), escaped);
    let Format::Raw(t) = Format::parse("json").unwrap() else { panic!("json is not a table") };
    assert_eq!(t.render_row(&row).unwrap(), escaped);
    // Any other value goes through docker/cli's encoder.
    assert_eq!(row_json("{{json .Digest}}"), r#""<none>""#);
    assert_eq!(row_json("{{json .Names}}|{{range .Names}}{{json .}}{{end}}"), r#"["<a>"]|"<a>""#);
    // `render` is for other values, as `docker inspect` prints them.
    assert_eq!(render("{{json .}}", row.clone()), r#"{"Digest":"<none>","Labels":"a=x&y","Names":["<a>"]}"#);
}
