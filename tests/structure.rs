//! The kernel's structure, checked.
//!
//! - Layers: every file of `kernel/src` belongs to a layer (docs/design.md
//!   draws them), and a file may only use files of its own layer or lower
//!   ones. The exceptions are named below: the fatal-error path, which every
//!   layer may call, and the one knot a kernel cannot avoid (a core's state
//!   holds its scheduler and its trace, and both find their core through it).
//!   User programs use the routine API and nothing else. A module's own
//!   tests (`mod tests { ... }`, registered with `ktest!`) are left out: a
//!   test may use any layer (a spin-lock test spawns routines), as tests
//!   are not part of the kernel's structure.
//! - Programs: every program file is in the program list, and every user
//!   program has a row in the README and a test.
//!
//! `LAYERS_GRAPH=1 cargo test --test structure -- --nocapture` prints the
//! import graph (Graphviz dot, one cluster per layer).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The layers, lowest first: each is a list of file-module prefixes
/// (a module path under kernel/src, like `sched` or `arch/x86_64/idt`).
const LAYERS: &[(&str, &[&str])] = &[
    ("arch", &["arch"]),
    ("base", &["lock", "console", "time", "mem", "cmdline", "ktest"]),
    ("core", &["cpu", "sched", "trace", "smp", "trap", "stop", "panic"]),
    ("sync", &["sync"]),
    ("api", &["api"]),
    ("programs", &["programs", "misuse"]),
    ("boot", &["main"]),
];

/// Files any layer may call: the fatal-error path (and the stop path it
/// shares with the other ways a run ends).
const FATAL_PATH: &[&str] = &["panic", "stop"];

/// The one cycle allowed: a core's state (`cpu`) holds its scheduler and
/// trace buffer, which reach their core through it.
const KNOT: &[&str] = &["cpu", "sched", "trace"];

/// Macros exported at the crate root, and the file that defines each.
const MACROS: &[(&str, &str)] =
    &[("println!", "console"), ("print!", "console"), ("summary!", "console"), ("select!", "sync/select")];

fn kernel_src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("kernel/src")
}

/// Every `.rs` file under `dir`, as (module path, source).
fn modules(dir: &Path) -> BTreeMap<String, String> {
    let mut found = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let rel = path.strip_prefix(dir).unwrap().with_extension("");
                let mut name = rel.to_string_lossy().replace('\\', "/");
                if let Some(parent) = name.strip_suffix("/mod") {
                    name = parent.to_string();
                }
                found.insert(name, std::fs::read_to_string(&path).unwrap());
            }
        }
    }
    found
}

/// Comments and string literals blanked out, so that only code is read.
fn code_only(source: &str) -> String {
    let mut out = String::with_capacity(source.len());
    let mut chars = source.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '/' if chars.peek() == Some(&'/') => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        out.push('\n');
                        break;
                    }
                }
            }
            '"' => {
                let mut escaped = false;
                for c in chars.by_ref() {
                    if c == '\n' {
                        out.push('\n');
                    }
                    if escaped {
                        escaped = false;
                    } else if c == '\\' {
                        escaped = true;
                    } else if c == '"' {
                        break;
                    }
                }
                out.push_str("\"\"");
            }
            _ => out.push(c),
        }
    }
    out
}

/// The module paths (`a::b::c`) a file names through `crate::`, `$crate::`,
/// `super::` or a child module, brace groups expanded.
fn referenced_paths(module: &str, source: &str) -> Vec<Vec<String>> {
    let code = without_tests(&code_only(source));
    let mut paths = Vec::new();
    let is_ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let bytes: Vec<char> = code.chars().collect();
    let inline = inline_module_depth(&bytes);
    let mut i = 0;
    while i < bytes.len() {
        let starts_word = i == 0 || !is_ident(bytes[i - 1]) && bytes[i - 1] != ':';
        let rest: String = bytes[i..bytes.len().min(i + 8)].iter().collect();
        let (root, skip) = if starts_word && rest.starts_with("crate::") {
            (Vec::new(), 7)
        } else if starts_word && rest.starts_with("super::") {
            // In an inline `mod x { ... }`, `super` is the file's own module.
            let mut parent: Vec<String> = module.split('/').map(String::from).collect();
            if inline[i] == 0 {
                parent.pop();
            }
            (parent, 7)
        } else if starts_word && rest.starts_with("self::") {
            (module.split('/').map(String::from).collect(), 6)
        } else if starts_word && is_mod_rs(module) && child_at(module, &bytes[i..]).is_some() {
            (module.split('/').map(String::from).collect(), 0)
        } else {
            i += 1;
            continue;
        };
        i += skip;
        let (found, end) = parse_tree(&bytes, i);
        for tail in found {
            let mut path = root.clone();
            path.extend(tail);
            paths.push(path);
        }
        i = end;
    }
    for (mac, _) in MACROS {
        if code.contains(mac) {
            paths.push(vec![format!("!{mac}")]);
        }
    }
    paths
}

/// `code` with the bodies of its `mod tests { ... }` blocks blanked out.
fn without_tests(code: &str) -> String {
    let mut out: Vec<char> = code.chars().collect();
    let text: String = out.iter().collect();
    for (start, _) in text.match_indices("mod tests") {
        let Some(open) = out[start..].iter().position(|c| *c == '{').map(|i| start + i) else { continue };
        if out[start + "mod tests".len()..open].iter().any(|c| !c.is_whitespace()) {
            continue; // `mod tests_x {` or `mod tests;`
        }
        let mut level = 0;
        for c in &mut out[open..] {
            match *c {
                '{' => level += 1,
                '}' => level -= 1,
                _ => {}
            }
            if level == 0 {
                break;
            }
            if *c != '\n' {
                *c = ' ';
            }
        }
    }
    out.into_iter().collect()
}

/// For each character, how many inline `mod name { ... }` blocks enclose it.
fn inline_module_depth(code: &[char]) -> Vec<usize> {
    let mut depth = vec![0; code.len() + 1];
    let text: String = code.iter().collect();
    for (start, _) in text.match_indices("mod ") {
        let after = &code[start + 4..];
        let name_len = after.iter().take_while(|c| c.is_ascii_alphanumeric() || **c == '_').count();
        let rest = &after[name_len..];
        let gap = rest.iter().take_while(|c| c.is_whitespace()).count();
        if name_len == 0 || rest.get(gap) != Some(&'{') {
            continue;
        }
        let open = start + 4 + name_len + gap;
        let mut level = 0;
        for (i, c) in code.iter().enumerate().skip(open) {
            match c {
                '{' => level += 1,
                '}' => level -= 1,
                _ => {}
            }
            depth[i] += 1;
            if level == 0 {
                break;
            }
        }
    }
    depth
}

/// The child module of directory module `module` that `code` starts with
/// (as `child::`), if any.
fn child_at(module: &str, code: &[char]) -> Option<String> {
    let name: String = code.iter().take_while(|c| c.is_ascii_alphanumeric() || **c == '_').collect();
    let follows = code.get(name.len()) == Some(&':') && code.get(name.len() + 1) == Some(&':');
    let child = format!("{module}/{name}");
    (follows && !name.is_empty() && CHILDREN.with(|c| c.borrow().contains(&child))).then_some(child)
}

/// Whether `module` is a directory module (its file is `mod.rs`); recorded
/// by `graph` through this set.
fn is_mod_rs(module: &str) -> bool {
    DIR_MODULES.with(|dirs| dirs.borrow().contains(module))
}

thread_local! {
    static DIR_MODULES: std::cell::RefCell<BTreeSet<String>> = Default::default();
    /// Every file module, to recognise a directory module's children.
    static CHILDREN: std::cell::RefCell<BTreeSet<String>> = Default::default();
}

/// Parses a use-tree at `i`: `a::b::{c, d::e}` gives [a,b,c], [a,b,d,e].
fn parse_tree(chars: &[char], mut i: usize) -> (Vec<Vec<String>>, usize) {
    let mut prefix = Vec::new();
    loop {
        if chars.get(i) == Some(&'{') {
            let mut all = Vec::new();
            i += 1;
            loop {
                while chars.get(i).is_some_and(|c| c.is_whitespace() || *c == ',') {
                    i += 1;
                }
                if chars.get(i) == Some(&'}') || i >= chars.len() {
                    return (all, i + 1);
                }
                let (inner, end) = parse_tree(chars, i);
                for tail in inner {
                    let mut path = prefix.clone();
                    path.extend(tail);
                    all.push(path);
                }
                i = end;
            }
        }
        let start = i;
        while chars.get(i).is_some_and(|c| c.is_ascii_alphanumeric() || *c == '_') {
            i += 1;
        }
        if i == start {
            return (vec![prefix], i);
        }
        prefix.push(chars[start..i].iter().collect());
        if chars.get(i) == Some(&':') && chars.get(i + 1) == Some(&':') {
            i += 2;
        } else {
            return (vec![prefix], i);
        }
    }
}

/// The file module a path lands in: its longest prefix that is a file
/// (`arch::X` also means `arch/x86_64/X`, which `arch` re-exports).
fn resolve(path: &[String], files: &BTreeSet<String>) -> Option<String> {
    if let Some(mac) = path.first().and_then(|p| p.strip_prefix('!')) {
        return MACROS.iter().find(|(m, _)| *m == mac).map(|(_, file)| file.to_string());
    }
    let mut candidates = vec![path.to_vec()];
    if path.first().is_some_and(|p| p == "arch") && path.get(1).is_some_and(|p| p != "x86_64") {
        let mut via = vec!["arch".to_string(), "x86_64".to_string()];
        via.extend(path[1..].iter().cloned());
        candidates.insert(0, via);
    }
    for candidate in candidates {
        for len in (1..=candidate.len()).rev() {
            let name = candidate[..len].join("/");
            if files.contains(&name) && !(name == "arch" && candidate.len() > 1) {
                return Some(name);
            }
        }
    }
    None
}

fn layer_of(module: &str) -> usize {
    let matches = |prefix: &&str| module == *prefix || module.starts_with(&format!("{prefix}/"));
    LAYERS
        .iter()
        .position(|(_, prefixes)| prefixes.iter().any(matches))
        .unwrap_or_else(|| panic!("kernel/src/{module}.rs belongs to no layer: add it to LAYERS in tests/structure.rs"))
}

fn top(module: &str) -> &str {
    module.split('/').next().unwrap()
}

/// The import graph: file module -> the file modules it uses.
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let sources = modules(&kernel_src());
    let files: BTreeSet<String> = sources.keys().cloned().collect();
    DIR_MODULES.with(|dirs| {
        *dirs.borrow_mut() = sources.keys().filter(|m| kernel_src().join(m).join("mod.rs").exists()).cloned().collect();
    });
    CHILDREN.with(|children| *children.borrow_mut() = files.clone());
    let mut graph = BTreeMap::new();
    for (module, source) in &sources {
        let mut uses = BTreeSet::new();
        for path in referenced_paths(module, source) {
            if let Some(target) = resolve(&path, &files)
                && target != *module
            {
                uses.insert(target);
            }
        }
        graph.insert(module.clone(), uses);
    }
    graph
}

/// Strongly connected components with more than one file (Tarjan).
fn cycles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<BTreeSet<String>> {
    struct State<'a> {
        graph: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        found: Vec<BTreeSet<String>>,
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a str) {
        let n = s.index.len();
        s.index.insert(v, n);
        s.low.insert(v, n);
        s.stack.push(v);
        s.on_stack.insert(v);
        for w in &s.graph[v] {
            if !s.index.contains_key(w.as_str()) {
                visit(s, w);
                let low = s.low[w.as_str()].min(s.low[v]);
                s.low.insert(v, low);
            } else if s.on_stack.contains(w.as_str()) {
                let low = s.index[w.as_str()].min(s.low[v]);
                s.low.insert(v, low);
            }
        }
        if s.low[v] == s.index[v] {
            let mut component = BTreeSet::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(w);
                component.insert(w.to_string());
                if w == v {
                    break;
                }
            }
            if component.len() > 1 {
                s.found.push(component);
            }
        }
    }
    let mut s = State {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        found: Vec::new(),
    };
    for v in graph.keys() {
        if !s.index.contains_key(v.as_str()) {
            visit(&mut s, v);
        }
    }
    s.found
}

fn print_dot(graph: &BTreeMap<String, BTreeSet<String>>) {
    println!("digraph kernel {{\n  rankdir=BT; node [shape=box, fontsize=10];");
    for (i, (name, _)) in LAYERS.iter().enumerate() {
        println!("  subgraph cluster_{i} {{ label=\"{i}: {name}\";");
        for module in graph.keys().filter(|m| layer_of(m) == i) {
            println!("    \"{module}\";");
        }
        println!("  }}");
    }
    for (from, uses) in graph {
        for to in uses {
            let up = layer_of(to) > layer_of(from);
            println!("  \"{from}\" -> \"{to}\"{};", if up { " [color=red]" } else { "" });
        }
    }
    println!("}}");
}

#[test]
fn every_kernel_file_uses_only_its_own_layer_or_lower_ones() {
    let graph = graph();
    if std::env::var_os("LAYERS_GRAPH").is_some() {
        print_dot(&graph);
    }
    let mut upward = Vec::new();
    for (from, uses) in &graph {
        for to in uses {
            if layer_of(to) > layer_of(from) && !FATAL_PATH.contains(&top(to)) {
                upward.push(format!("  {from} ({}) uses {to} ({})", LAYERS[layer_of(from)].0, LAYERS[layer_of(to)].0));
            }
        }
    }
    assert!(
        upward.is_empty(),
        "{} upward uses (a lower layer must not call a higher one: pass a function \
         down, or register it at start-up):\n{}",
        upward.len(),
        upward.join("\n")
    );
}

#[test]
fn the_only_import_cycle_is_the_core_the_scheduler_and_the_trace() {
    // Calls into the fatal path are allowed from anywhere: they do not count.
    let mut graph = graph();
    graph.values_mut().for_each(|uses| uses.retain(|to| !FATAL_PATH.contains(&top(to))));
    let mut bad = Vec::new();
    for component in cycles(&graph) {
        let outside: Vec<&String> =
            component.iter().filter(|m| !KNOT.contains(&top(m)) && !FATAL_PATH.contains(&top(m))).collect();
        if !outside.is_empty() {
            bad.push(format!("  {{{}}}", component.iter().cloned().collect::<Vec<_>>().join(", ")));
        }
    }
    assert!(bad.is_empty(), "import cycles beyond {KNOT:?}:\n{}", bad.join("\n"));
}

#[test]
fn the_checker_sees_paths_in_use_trees_and_macros() {
    let files: BTreeSet<String> =
        ["sched", "sched/run", "arch/x86_64/cpu", "console", "mem/frames"].iter().map(|s| s.to_string()).collect();
    let source = "use crate::{arch::cpu::{a, b}, mem::frames};\nfn f() { println!(\"crate::fake\"); super::run::g(); }";
    DIR_MODULES.with(|dirs| dirs.borrow_mut().clear());
    let found: BTreeSet<String> =
        referenced_paths("sched/find", source).iter().filter_map(|p| resolve(p, &files)).collect();
    let expected: BTreeSet<String> =
        ["arch/x86_64/cpu", "mem/frames", "console", "sched/run"].iter().map(|s| s.to_string()).collect();
    assert_eq!(found, expected);
    let with_tests =
        "use crate::console;\nmod tests {\n    use crate::sched::go;\n    fn t() { crate::sched::yield_now() }\n}\n";
    let found: Vec<Vec<String>> = referenced_paths("lock", with_tests);
    assert_eq!(found, [["console"]], "a module's tests are left out of the layers");
}

#[test]
fn user_programs_use_the_routine_api_and_nothing_else() {
    let graph = graph();
    let mut bad = Vec::new();
    for (from, uses) in graph.iter().filter(|(m, _)| m.starts_with("programs/user/")) {
        // The macros (println!, select!, ...) are the API's too: it re-exports them.
        let through_api = |to: &str| to == "api" || MACROS.iter().any(|(_, file)| *file == to);
        for to in uses.iter().filter(|to| !through_api(to) && !to.starts_with("programs/user/")) {
            bad.push(format!("  {from} uses {to}"));
        }
    }
    assert!(bad.is_empty(), "user programs must use only crate::api (internal/ is for the rest):\n{}", bad.join("\n"));
}

/// The program list (`kernel/src/programs/list.rs`): (name, module, user?),
/// from its entry lines, which start `"name" Variant module:`.
fn program_list() -> Vec<(String, String, bool)> {
    let list = std::fs::read_to_string(kernel_src().join("programs/list.rs")).unwrap();
    let mut user = true;
    let mut found = Vec::new();
    for line in list.lines().map(str::trim) {
        if line.starts_with("internal {") {
            user = false;
        }
        let Some(rest) = line.strip_prefix('"') else { continue };
        let Some((name, rest)) = rest.split_once('"') else { continue };
        let words: Vec<&str> = rest.split_whitespace().take(2).collect();
        if let [_variant, module] = words[..]
            && let Some(module) = module.strip_suffix(':')
        {
            found.push((name.to_string(), module.to_string(), user));
        }
    }
    found
}

#[test]
fn every_program_file_is_in_the_program_list() {
    let programs = program_list();
    assert!(programs.len() >= 15, "read only {} programs from list.rs: {programs:?}", programs.len());
    for (dir, user) in [("user", true), ("internal", false)] {
        for entry in std::fs::read_dir(kernel_src().join("programs").join(dir)).unwrap() {
            let path = entry.unwrap().path();
            let module = path.file_stem().unwrap().to_string_lossy().to_string();
            let listed = programs.iter().any(|(_, m, u)| *m == module && *u == user);
            // A helper shared by programs (not a program) is fine if some
            // listed program's module uses it; none exist outside the list today.
            assert!(listed, "kernel/src/programs/{dir}/{module} is not in kernel/src/programs/list.rs ({dir} section)");
        }
    }
}

#[test]
fn every_user_program_has_a_readme_row_and_a_test() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let tests: String = std::fs::read_dir(root.join("tests"))
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect();
    for (name, _, user) in program_list() {
        if !user {
            continue;
        }
        let row = readme
            .lines()
            .any(|l| l.starts_with("| ") && l.split('|').nth(1).is_some_and(|c| c.contains(&format!("`{name}`"))));
        assert!(row, "README.md's program table has no row for `{name}`");
        let booted = [format!("\"{name}\""), format!("\"{name} "), format!("\"{name}\\")];
        assert!(booted.iter().any(|b| tests.contains(b.as_str())), "no test in tests/ boots `{name}`");
    }
}
