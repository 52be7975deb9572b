use super::*;
use crate::wit::latest::Setting;

fn file(path: &str, contents: &str) -> OutputFile {
    OutputFile {
        path: path.into(),
        contents: contents.into(),
    }
}

fn check(syntax: Syntax, text: &str) -> Result<(), String> {
    CodePolicy::for_syntax(Some(syntax)).check(&[file("/etc/p/main.conf", text)])
}

#[test]
fn nginx_statements_that_run_code_are_refused_however_they_are_spelled() {
    // (config, refused?)
    let cases: &[(&str, bool)] = &[
        ("events {}\nhttp { server { listen 80; } }\n", false),
        ("load_module /etc/nginx/evil.so;\n", true),
        ("  \"load_module\" /etc/nginx/evil.so;", true),
        ("'load_module' x;", true),
        ("http{load_module x;}", true),
        ("ssl_engine pkcs11;", true),
        ("http { perl_modules /etc/nginx; perl_require x.pm; }", true),
        ("http { js_import /etc/nginx/x.js; }", true),
        (
            "location / { content_by_lua_block { os.execute('id') } }",
            true,
        ),
        ("http { lua_package_path '/etc/nginx/?.lua'; }", true),
        ("mruby_init /etc/nginx/x.rb;", true),
        // Mentions that are not directives.
        ("# load_module /x.so;\nevents {}", false),
        (
            "server_name lua.example.com perl.example.com js_x.example.com;",
            false,
        ),
        ("return 200 \"load_module x;\";", false),
        ("add_header X-Note 'use ssl_engine';", false),
        // An escaped backslash is not a way to hide a name from nginx...
        ("load\\_module x;", false),
        // ...and a comment mark inside a word is part of the word.
        ("server_name a#b; load_module x;", true),
        // A `}` or `${` inside a word does not end it, so what follows the
        // `;` is a directive, not a comment.
        ("env A}#;load_module /etc/nginx/m.so;", true),
        ("env ${#;load_module /etc/nginx/m.so;", true),
        // Non-ASCII spaces are word characters to nginx.
        ("env A\u{a0}\"; load_module /etc/nginx/m.so; #\"", true),
        // Keys loaded through an OpenSSL engine (which may load a library).
        ("ssl_certificate_key engine:/etc/nginx/x.so:k;", true),
        ("proxy_ssl_certificate_key \"engine:pkcs11:k\";", true),
        ("ssl_certificate_key /etc/nginx/engine:x.pem;", false),
        // Control characters: refused wherever they are.
        ("env A\x0c\"; load_module /etc/nginx/m.so; #\"", true),
        ("events {}\0", true),
    ];
    for (text, refused) in cases {
        assert_eq!(check(Syntax::Nginx, text).is_err(), *refused, "{text:?}");
    }
}

#[test]
fn haproxy_lines_that_run_code_are_refused_however_they_are_spelled() {
    let cases: &[(&str, bool)] = &[
        ("global\n    maxconn 100\nfrontend f\n    bind :80\n", false),
        ("global\n    lua-load /usr/local/etc/haproxy/x.lua\n", true),
        ("global\n  lua-load-per-thread x.lua", true),
        ("global\n  lua-prepend-path /x/?.lua", true),
        ("program evil\n    command /bin/sh -c id\n", true),
        ("global\n  external-check\n", true),
        ("backend b\n  option external-check\n", true),
        ("global\n  insecure-fork-wanted\n", true),
        ("global\n  ssl-engine rdrand\n", true),
        ("global\n  ssl-provider legacy\n", true),
        // Spellings HAProxy reads as the keyword.
        ("global\n  \"lua-load\" x.lua", true),
        ("global\n  lua\"-\"load x.lua", true),
        ("global\n  \\x6cua-load x.lua", true),
        // HAProxy keeps the backslash of an unknown pair: not the keyword.
        ("global\n  lua\\-load x.lua", false),
        // Blanks are C's isspace(), a NUL ends a keyword.
        ("\rprogram x\n  command /bin/sh -c id\n", true),
        ("\x0bprogram x\n", true),
        ("backend b\n  option\x0bexternal-check\n", true),
        ("global\n  program\\x00 evil\n", true),
        ("global\n  insecure-fork-wanted\0\n", true),
        // The master re-executes itself with this environment.
        (
            "global\n  setenv LD_PRELOAD /usr/local/etc/haproxy/x.so\n",
            true,
        ),
        (
            "global\n  presetenv OPENSSL_CONF /usr/local/etc/haproxy/o.cnf\n",
            true,
        ),
        ("global\n  'program' x", true),
        ("global\n  \"${KW}\" x.lua", true),
        ("backend b\n  option \"external-check\"", true),
        ("backend b\n  option ${OPT}", true),
        // Not keywords.
        ("# lua-load x.lua\nglobal\n", false),
        (
            "frontend f\n  use_backend lua-load if { hdr(host) -i lua-load.example }\n",
            false,
        ),
        (
            "frontend f\n  http-request deny if { path_beg /program }\n",
            false,
        ),
        ("backend b\n  option httpchk\n", false),
        ("global\n  tune.lua.maxmem 10\n", false),
    ];
    for (text, refused) in cases {
        assert_eq!(check(Syntax::Haproxy, text).is_err(), *refused, "{text:?}");
    }
}

#[test]
fn the_message_names_file_line_and_directive() {
    let files = [
        file("/etc/nginx/nginx.conf", "events {}\n"),
        file(
            "/etc/nginx/conf.d/x.conf",
            "# x\n\n  load_module\n /etc/nginx/x.so;\n",
        ),
    ];
    let err = CodePolicy::for_syntax(Some(Syntax::Nginx))
        .check(&files)
        .unwrap_err();
    assert!(
        err.starts_with("`/etc/nginx/conf.d/x.conf` line 3: `load_module` loads a shared object"),
        "{err}"
    );
}

/// What of an Extension the policy reads.
struct Extension {
    config: Vec<Setting>,
    proxy_command: Option<Vec<String>>,
}

fn extension(settings: Vec<Setting>, command: Option<Vec<String>>) -> Extension {
    Extension {
        config: settings,
        proxy_command: command,
    }
}

fn policy_of(ext: &Extension, info: &PluginInfo) -> CodePolicy {
    CodePolicy::of(info, ext.proxy_command.iter(), &ext.config)
}

/// An Extension whose operator wrote `statement` in `GlobalOptions`.
fn operator_wrote(statement: &str) -> Extension {
    extension(
        vec![Setting {
            key: "GlobalOptions".into(),
            value: SettingValue::TextList(vec![statement.into()]),
        }],
        None,
    )
}

fn info(proxy: &str) -> PluginInfo {
    PluginInfo {
        name: "p".into(),
        version: "1".into(),
        proxy: proxy.into(),
        default_config_path: "/etc/p/main.conf".into(),
        validate_command: vec![],
        reload: crate::wit::latest::Reload::Signal("HUP".into()),
    }
}

#[test]
fn the_operator_may_ask_for_exactly_the_statement_they_wrote() {
    let stream = "load_module /usr/lib/nginx/modules/ngx_stream_module.so;";
    let policy = policy_of(&operator_wrote(stream), &info("nginx"));
    let ok = |text: &str| policy.check(&[file("/etc/nginx/nginx.conf", text)]).is_ok();
    assert!(ok(&format!("{stream}\nevents {{}}")));
    assert!(ok(
        "load_module \"/usr/lib/nginx/modules/ngx_stream_module.so\";"
    ));
    // Another object, or the same directive with more, is the plugin's choice.
    assert!(!ok("load_module /etc/nginx/evil.so;"));
    assert!(!ok(
        "load_module /usr/lib/nginx/modules/ngx_stream_module.so x;"
    ));

    // The operator's statement may not name a file the plugin renders: its
    // code would be the plugin's (absolute, or relative to the config's dir).
    let lua = "lua-load /usr/local/etc/haproxy/auth.lua";
    let policy = policy_of(&operator_wrote(lua), &info("haproxy"));
    let main = |statement: &str| {
        file(
            "/usr/local/etc/haproxy/haproxy.cfg",
            &format!("global\n  {statement}\n"),
        )
    };
    let code = file("/usr/local/etc/haproxy/auth.lua", "os.execute('id')");
    assert!(policy.check(&[main(lua)]).is_ok());
    let err = policy.check(&[main(lua), code.clone()]).unwrap_err();
    assert!(
        err.contains("auth.lua") && err.contains("rendered"),
        "{err}"
    );
    let relative = "lua-load auth.lua";
    let policy = policy_of(&operator_wrote(relative), &info("haproxy"));
    assert!(policy.check(&[main(relative), code]).is_err());
}

#[test]
fn the_rules_follow_the_proxy_that_runs() {
    let lua = "global\n  lua-load /usr/local/etc/haproxy/x.lua\n";
    let at = |policy: CodePolicy| policy.check(&[file("/etc/p/main.conf", lua)]).is_err();
    // The plugin's kind when the host knows it.
    assert!(at(policy_of(&extension(vec![], None), &info("haproxy"))));
    // A plugin naming an unknown kind does not escape the rules of the
    // binary the operator runs.
    let haproxy = Some(vec![
        "/usr/sbin/haproxy".into(),
        "-f".into(),
        "{config}".into(),
    ]);
    assert!(at(policy_of(&extension(vec![], haproxy), &info("envoy"))));
    // A plugin naming another built-in kind than the binary that runs is
    // read with both grammars.
    let nginx_bin = Some(vec!["nginx".into(), "-c".into(), "{config}".into()]);
    let policy = policy_of(&extension(vec![], nginx_bin), &info("haproxy"));
    assert!(
        policy
            .check(&[file("/etc/p/main.conf", "load_module /etc/p/x.so;")])
            .is_err()
    );
    // A proxy the host does not know: the operator's own config language.
    let envoy = Some(vec!["envoy".into(), "-c".into(), "{config}".into()]);
    assert!(!at(policy_of(&extension(vec![], envoy), &info("envoy"))));
}
