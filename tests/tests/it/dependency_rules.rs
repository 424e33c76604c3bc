//! The workspace's dependency rules, read from `cargo metadata`: which platform crate
//! may depend on which (so layers cannot quietly grow loops or reach upwards), and
//! which heavy libraries each may pull in at all, directly or transitively.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::Path,
    process::Command,
};

use serde_json::Value;

/// The platform crates each crate may depend on (normal dependencies; dev-dependencies
/// of tests and examples are free).
const ALLOWED: &[(&str, &[&str])] = &[
    ("kronos-types", &[]),
    ("kronos-config", &["kronos-types"]),
    ("kronos-observability", &[]),
    ("kronos-db", &["kronos-types"]),
    ("kronos-storage", &["kronos-types", "kronos-config"]),
    ("kronos-queue", &["kronos-types", "kronos-config", "kronos-db", "kronos-observability"]),
    ("kronos-market-data", &["kronos-types"]),
    ("kronos-exchanges", &["kronos-types", "kronos-config", "kronos-db", "kronos-market-data"]),
    ("kronos-backtest", &["kronos-types"]),
    ("kronos-auth", &["kronos-types"]),
    ("kronos-email", &[]),
    ("kronos-hub", &[]),
    ("kronos-notify", &["kronos-types", "kronos-config", "kronos-db", "kronos-auth", "kronos-email"]),
    ("kronos-billing", &["kronos-types", "kronos-config", "kronos-db", "kronos-email", "kronos-notify"]),
    ("kronos-callbacks", &["kronos-types", "kronos-config", "kronos-db", "kronos-auth"]),
    ("kronos-models", &[]),
    (
        "kronos-scheduler",
        &[
            "kronos-types",
            "kronos-config",
            "kronos-db",
            "kronos-queue",
            "kronos-observability",
            "kronos-billing",
            "kronos-notify",
        ],
    ),
    (
        "kronos-api",
        &[
            "kronos-types",
            "kronos-config",
            "kronos-db",
            "kronos-queue",
            "kronos-storage",
            "kronos-market-data",
            "kronos-exchanges",
            "kronos-backtest",
            "kronos-observability",
            "kronos-auth",
            "kronos-email",
            "kronos-billing",
            "kronos-callbacks",
        ],
    ),
    (
        "kronos-worker",
        &[
            "kronos-types",
            "kronos-config",
            "kronos-db",
            "kronos-queue",
            "kronos-storage",
            "kronos-market-data",
            "kronos-exchanges",
            "kronos-backtest",
            "kronos-observability",
            "kronos-models",
            "kronos-notify",
            "kronos-callbacks",
        ],
    ),
    (
        "kronos-cli",
        &[
            "kronos-types",
            "kronos-config",
            "kronos-db",
            "kronos-storage",
            "kronos-market-data",
            "kronos-exchanges",
            "kronos-backtest",
            "kronos-models",
            "kronos-worker",
            "kronos-auth",
            "kronos-hub",
        ],
    ),
];

/// Libraries a crate must not link, even transitively.
const FORBIDDEN: &[(&str, &[&str])] = &[
    ("kronos-types", &["polars", "tch", "diesel", "redis", "object_store", "reqwest", "apalis"]),
    ("kronos-config", &["polars", "tch", "diesel", "redis", "object_store"]),
    ("kronos-db", &["polars", "tch", "redis", "object_store", "apalis"]),
    ("kronos-storage", &["polars", "tch", "diesel", "redis", "apalis"]),
    ("kronos-queue", &["polars", "tch", "object_store"]),
    // polars itself links object_store and reqwest (polars-error, polars-io)
    ("kronos-market-data", &["tch", "diesel", "redis", "apalis"]),
    ("kronos-backtest", &["tch", "diesel", "redis", "apalis"]),
    ("kronos-scheduler", &["polars", "tch", "object_store"]),
    ("kronos-callbacks", &["polars", "tch", "object_store", "redis", "apalis"]),
    ("kronos-models", &["polars", "diesel", "redis", "object_store", "apalis"]),
    // pure: no I/O of any kind
    ("kronos-auth", &["tokio", "diesel", "redis", "object_store", "reqwest", "polars", "tch"]),
    ("kronos-email", &["tokio", "diesel", "redis", "lettre", "reqwest"]),
    // an HTTP client of the Hub and nothing else
    ("kronos-hub", &["polars", "tch", "diesel", "redis", "object_store", "apalis"]),
    ("kronos-billing", &["polars", "tch", "redis", "object_store", "apalis"]),
    ("kronos-notify", &["polars", "tch", "redis", "object_store", "apalis", "reqwest"]),
];

struct Graph {
    names: BTreeMap<String, String>,
    normal: BTreeMap<String, Vec<String>>,
}

fn metadata() -> Graph {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["metadata", "--format-version", "1", "--locked"])
        .current_dir(&root)
        .output()
        .expect("run cargo metadata");
    assert!(out.status.success(), "cargo metadata: {}", String::from_utf8_lossy(&out.stderr));
    let meta: Value = serde_json::from_slice(&out.stdout).expect("metadata JSON");
    let names = meta["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .map(|p| (p["id"].as_str().expect("id").to_owned(), p["name"].as_str().expect("name").to_owned()))
        .collect();
    let normal = meta["resolve"]["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .map(|node| {
            let deps = node["deps"]
                .as_array()
                .expect("deps")
                .iter()
                .filter(|d| d["dep_kinds"].as_array().expect("kinds").iter().any(|k| k["kind"].is_null()))
                .map(|d| d["pkg"].as_str().expect("pkg").to_owned())
                .collect();
            (node["id"].as_str().expect("id").to_owned(), deps)
        })
        .collect();
    Graph { names, normal }
}

impl Graph {
    fn id(&self, name: &str) -> &str {
        self.names.iter().find(|(_, n)| n.as_str() == name).map(|(id, _)| id.as_str()).expect(name)
    }

    fn direct(&self, name: &str) -> BTreeSet<String> {
        self.normal[self.id(name)].iter().map(|id| self.names[id].clone()).collect()
    }

    fn transitive(&self, name: &str) -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut stack = vec![self.id(name).to_owned()];
        while let Some(id) = stack.pop() {
            for dep in &self.normal[&id] {
                if seen.insert(self.names[dep].clone()) {
                    stack.push(dep.clone());
                }
            }
        }
        seen
    }
}

#[test]
fn platform_crates_depend_only_on_the_layers_below_them() {
    let graph = metadata();
    let platform: BTreeSet<&str> = ALLOWED.iter().map(|(name, _)| *name).collect();
    let members: BTreeSet<&str> =
        graph.names.values().map(String::as_str).filter(|n| n.starts_with("kronos-") && *n != "kronos-tests").collect();
    assert_eq!(members, platform, "every workspace crate has a rule");
    let mut broken = Vec::new();
    for (name, allowed) in ALLOWED {
        for dep in graph.direct(name).into_iter().filter(|d| platform.contains(d.as_str())) {
            if !allowed.contains(&dep.as_str()) {
                broken.push(format!("{name} depends on {dep}"));
            }
        }
    }
    assert!(broken.is_empty(), "dependency rules broken:\n{}", broken.join("\n"));
}

#[test]
fn heavy_libraries_stay_where_they_are_needed() {
    let graph = metadata();
    let mut broken = Vec::new();
    for (name, forbidden) in FORBIDDEN {
        let linked = graph.transitive(name);
        for lib in *forbidden {
            if linked.contains(*lib) {
                broken.push(format!("{name} links {lib}"));
            }
        }
    }
    assert!(broken.is_empty(), "heavy libraries where they do not belong:\n{}", broken.join("\n"));
}
