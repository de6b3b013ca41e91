//! The declarations of `src/lib.rs` against `include/unet.h`: every exported function with the
//! same parameter count and types (C types mapped to their Rust equivalents), every callback
//! type, every enum and status constant with its value. A change to the header that is not
//! made here too (or the reverse) fails this test.
//!
//! The header is read from `UNET_HEADER` when set, else from this repository's `include/`.

use std::collections::BTreeMap;
use std::path::PathBuf;

const RUST_SOURCE: &str = include_str!("../src/lib.rs");

fn header_text() -> String {
    let path = std::env::var_os("UNET_HEADER").map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../include/unet.h")
    });
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read the header {}: {e}", path.display()))
}

/// A function or callback signature: parameter types and return type, in Rust spelling.
#[derive(Debug, PartialEq)]
struct Signature {
    params: Vec<String>,
    ret: String,
}

/// What the header declares, with types already mapped to Rust.
#[derive(Default)]
struct Header {
    functions: BTreeMap<String, Signature>,
    callbacks: BTreeMap<String, Signature>,
    constants: BTreeMap<String, i64>,
    /// Every #define name, integer or not.
    defines: Vec<String>,
    enums: Vec<String>,
    opaque: Vec<String>,
}

fn strip_c_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("/*") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find("*/").expect("unterminated comment") + start + 2;
        out.push(' ');
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

fn squash(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A C type ("const char *const *", "int64_t", "unet_model_t *") in Rust spelling.
fn c_to_rust(c_type: &str) -> String {
    let spaced = c_type.replace('*', " * ");
    // quals[i]: whether level i is const (level 0 is the base type, level k the k-th pointer).
    let mut quals = vec![false];
    let mut base = String::new();
    for token in spaced.split_whitespace() {
        match token {
            "const" => *quals.last_mut().unwrap() = true,
            "*" => quals.push(false),
            _ => {
                assert!(base.is_empty(), "two base types in C type {c_type:?}");
                base = token.to_string();
            }
        }
    }
    let base = match base.as_str() {
        "int" => "c_int",
        "unsigned" => "c_uint",
        "char" => "c_char",
        "void" => "c_void",
        "double" => "f64",
        "float" => "f32",
        "int64_t" => "i64",
        "uint64_t" => "u64",
        "uint32_t" => "u32",
        "uint16_t" => "u16",
        "uint8_t" => "u8",
        "size_t" => "usize",
        other if other.starts_with("unet_") => other,
        other => panic!("C type {other:?} has no Rust mapping in this test"),
    }
    .to_string();
    let levels = quals.len() - 1;
    if levels == 0 {
        return if base == "c_void" { "()".to_string() } else { base };
    }
    // The outermost pointer comes first in Rust; each pointer is *const when what it points
    // to is const.
    let mut rust = String::new();
    for level in (1..=levels).rev() {
        rust.push_str(if quals[level - 1] { "*const " } else { "*mut " });
    }
    rust + &base
}

/// "const int64_t *shape" or "int64_t bbox[4]" -> the parameter's C type.
fn c_param_type(param: &str) -> String {
    let param = squash(param);
    let (decl, array) = match param.find('[') {
        Some(i) => (param[..i].trim().to_string(), true),
        None => (param.clone(), false),
    };
    // The last identifier is the parameter's name (the header names every parameter).
    let name_start = decl.rfind(|c: char| !(c.is_alphanumeric() || c == '_')).map_or(0, |i| i + 1);
    let ty = decl[..name_start].trim().to_string();
    assert!(!ty.is_empty(), "parameter {param:?} has no name in the header");
    if array {
        ty + " *"
    } else {
        ty
    }
}

fn c_params(list: &str) -> Vec<String> {
    let list = list.trim();
    if list == "void" || list.is_empty() {
        return Vec::new();
    }
    list.split(',').map(|p| c_to_rust(&c_param_type(p))).collect()
}

fn parse_int(value: &str) -> Option<i64> {
    let v = value.trim().trim_start_matches('(').trim_end_matches(')').trim();
    let v = v.trim_end_matches(['u', 'U']);
    v.parse().ok()
}

fn parse_header(text: &str) -> Header {
    let mut header = Header::default();
    let text = strip_c_comments(text);
    let mut code = String::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let trimmed = line.trim();
        if let Some(define) = trimmed.strip_prefix("#define ") {
            let mut full = define.to_string();
            while full.ends_with('\\') {
                full.pop();
                full.push_str(lines.next().unwrap_or(""));
            }
            let mut parts = full.splitn(2, char::is_whitespace);
            let name = parts.next().unwrap().to_string();
            header.defines.push(name.clone());
            if let Some(value) = parts.next().and_then(parse_int) {
                header.constants.insert(name, value);
            }
        } else if trimmed.starts_with('#') {
            continue;
        } else {
            code.push_str(line);
            code.push('\n');
        }
    }
    let code = code.replace("extern \"C\" {", " ");
    for statement in code.split(';') {
        let s = squash(statement.trim_start_matches(|c: char| c == '}' || c.is_whitespace()));
        if let Some(decl) = s.strip_prefix("UNET_API ") {
            let open = decl.find('(').expect("function without parameters");
            let close = decl.rfind(')').unwrap();
            let head = decl[..open].trim();
            let name_start = head.rfind(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap() + 1;
            let name = head[name_start..].to_string();
            let ret = c_to_rust(&head[..name_start]);
            let params = c_params(&decl[open + 1..close]);
            header.functions.insert(name, Signature { params, ret });
        } else if let Some(rest) = s.strip_prefix("typedef enum ") {
            let body = &rest[rest.find('{').unwrap() + 1..rest.find('}').unwrap()];
            for entry in body.split(',').map(str::trim).filter(|e| !e.is_empty()) {
                let (name, value) = entry.split_once('=').expect("enum value without =");
                header.constants.insert(name.trim().to_string(), parse_int(value).unwrap());
            }
            header.enums.push(rest[rest.find('}').unwrap() + 1..].trim().to_string());
        } else if let Some(rest) = s.strip_prefix("typedef struct ") {
            header.opaque.push(rest.split_whitespace().last().unwrap().to_string());
        } else if let Some(rest) = s.strip_prefix("typedef ") {
            // typedef RET (*NAME)(PARAMS)
            let star = rest.find("(*").expect("unknown typedef");
            let ret = c_to_rust(&rest[..star]);
            let name_end = rest[star..].find(')').unwrap() + star;
            let name = rest[star + 2..name_end].trim().to_string();
            let params_start = rest[name_end..].find('(').unwrap() + name_end + 1;
            let params = c_params(&rest[params_start..rest.rfind(')').unwrap()]);
            header.callbacks.insert(name, Signature { params, ret });
        } else if !s.is_empty() {
            panic!("unparsed statement in the header: {s}");
        }
    }
    header
}

/// Splits "a: *mut T, b: Option<...>" at top-level commas.
fn split_top(list: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut depth = 0;
    let mut current = String::new();
    for c in list.chars() {
        match c {
            '(' | '<' => depth += 1,
            ')' | '>' if !current.ends_with('-') => depth -= 1,
            _ => {}
        }
        if c == ',' && depth == 0 {
            parts.push(std::mem::take(&mut current));
        } else {
            current.push(c);
        }
    }
    parts.push(current);
    parts.into_iter().map(|p| squash(&p)).filter(|p| !p.is_empty()).collect()
}

/// "(a: T, b: U) -> R" -> signature (R is "()" when absent).
fn rust_signature(params_and_ret: &str) -> Signature {
    let close = {
        let mut depth = 0;
        let mut end = 0;
        for (i, c) in params_and_ret.char_indices() {
            match c {
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        end = i;
                        break;
                    }
                }
                _ => {}
            }
        }
        end
    };
    let open = params_and_ret.find('(').unwrap();
    let params = split_top(&params_and_ret[open + 1..close])
        .iter()
        .map(|p| squash(p.split_once(':').expect("parameter without type").1))
        .collect();
    let tail = params_and_ret[close + 1..].trim();
    let ret = match tail.strip_prefix("->") {
        Some(r) => squash(r.trim_end_matches([';', ',', '>', ' '])),
        None => "()".to_string(),
    };
    Signature { params, ret }
}

fn strip_rust_comments(text: &str) -> String {
    text.lines()
        .map(|l| match l.find("//") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// What src/lib.rs declares.
struct Rust {
    functions: BTreeMap<String, Signature>,
    callbacks: BTreeMap<String, Signature>,
    constants: BTreeMap<String, String>,
    text: String,
}

fn parse_rust(text: &str) -> Rust {
    let text = strip_rust_comments(text);
    let start = text.find("extern \"C\" {").expect("no extern block") + "extern \"C\" {".len();
    let end = text.rfind('}').unwrap();
    let mut functions = BTreeMap::new();
    for decl in text[start..end].split(';').map(squash).filter(|d| !d.is_empty()) {
        let rest = decl.strip_prefix("pub fn ").unwrap_or_else(|| panic!("not a function: {decl}"));
        let name = rest[..rest.find('(').unwrap()].trim().to_string();
        let sig = rust_signature(&rest[rest.find('(').unwrap()..]);
        assert!(functions.insert(name.clone(), sig).is_none(), "{name} declared twice");
    }
    let mut callbacks = BTreeMap::new();
    let mut constants = BTreeMap::new();
    for statement in text[..start].split(';').map(squash) {
        // A chunk may start with the end of the previous item (a macro call's closing brace).
        if let Some(i) = statement.find("pub type ") {
            let rest = &statement[i + "pub type ".len()..];
            let (name, value) = rest.split_once('=').unwrap();
            if let Some(f) =
                value.replace("< ", "<").trim().strip_prefix("Option<unsafe extern \"C\" fn")
            {
                callbacks.insert(name.trim().to_string(), rust_signature(f));
            }
        } else if let Some(i) = statement.find("pub const ") {
            let rest = &statement[i + "pub const ".len()..];
            let (name, value) = rest.split_once('=').unwrap();
            let name = name.split(':').next().unwrap().trim().to_string();
            constants.insert(name, squash(value));
        }
    }
    Rust { functions, callbacks, constants, text }
}

#[test]
fn every_function_of_the_header_is_declared_with_its_types() {
    let header = parse_header(&header_text());
    let rust = parse_rust(RUST_SOURCE);
    assert!(
        header.functions.len() > 100,
        "header parsed badly: {} functions",
        header.functions.len()
    );
    let mut problems = Vec::new();
    for (name, c_sig) in &header.functions {
        match rust.functions.get(name) {
            None => problems.push(format!("{name}: in unet.h, not declared in unet-sys")),
            Some(r_sig) if r_sig.params.len() != c_sig.params.len() => problems.push(format!(
                "{name}: {} parameters in unet.h, {} in unet-sys",
                c_sig.params.len(),
                r_sig.params.len()
            )),
            Some(r_sig) if r_sig != c_sig => problems.push(format!(
                "{name}: unet.h means {:?} -> {}, unet-sys has {:?} -> {}",
                c_sig.params, c_sig.ret, r_sig.params, r_sig.ret
            )),
            Some(_) => {}
        }
    }
    for name in rust.functions.keys() {
        if !header.functions.contains_key(name) {
            problems.push(format!("{name}: declared in unet-sys, not in unet.h"));
        }
    }
    assert!(problems.is_empty(), "unet-sys differs from unet.h:\n{}", problems.join("\n"));
}

#[test]
fn callbacks_match() {
    let header = parse_header(&header_text());
    let rust = parse_rust(RUST_SOURCE);
    assert!(!header.callbacks.is_empty());
    for (name, c_sig) in &header.callbacks {
        assert_eq!(rust.callbacks.get(name), Some(c_sig), "callback type {name}");
    }
    assert_eq!(rust.callbacks.len(), header.callbacks.len(), "extra callback types in unet-sys");
}

#[test]
fn constants_and_types_match() {
    let header = parse_header(&header_text());
    let rust = parse_rust(RUST_SOURCE);
    for (name, value) in &header.constants {
        if name == "UNET_VERSION_NUMBER" {
            continue; // an expression on both sides, built from the three checked below
        }
        let rust_value = rust
            .constants
            .get(name)
            .unwrap_or_else(|| panic!("constant {name} of unet.h missing in unet-sys"));
        assert_eq!(rust_value.parse::<i64>().ok(), Some(*value), "constant {name}");
    }
    for name in rust.constants.keys() {
        assert!(
            header.defines.contains(name) || header.constants.contains_key(name),
            "constant {name} of unet-sys is not in unet.h"
        );
    }
    for name in &header.enums {
        assert!(
            rust.text.contains(&format!("pub type {name} = c_uint;")),
            "enum type {name} not declared as c_uint in unet-sys"
        );
    }
    for name in &header.opaque {
        assert!(rust.text.contains(&format!("{name};")), "opaque type {name} missing in unet-sys");
    }
}

#[test]
fn c_type_mapping() {
    // The mapping itself, on the shapes of declarations the header uses.
    assert_eq!(c_to_rust("const char *const *"), "*const *const c_char");
    assert_eq!(c_to_rust("const char *const * *"), "*mut *const *const c_char");
    assert_eq!(c_to_rust("unet_model_t **"), "*mut *mut unet_model_t");
    assert_eq!(c_to_rust("const unet_model_t *"), "*const unet_model_t");
    assert_eq!(c_to_rust("void"), "()");
    assert_eq!(c_param_type("int64_t bbox[4]"), "int64_t *");
    assert_eq!(c_param_type("const int64_t **xy"), "const int64_t **");
}
