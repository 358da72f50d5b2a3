//! Themes: templates, message files and static assets. The `base` theme is complete; a
//! theme such as `constances` overrides only what differs. Files on disk under
//! `themes_dir` win over the copies built into the binary.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use minijinja::value::{Kwargs, Serde};
use minijinja::{Environment, Error, ErrorKind, State};
use rust_embed::RustEmbed;
use serde_json::Value;

#[derive(RustEmbed)]
#[folder = "../../themes/"]
struct Embedded;

/// Languages with message files, in the order the switcher lists them.
pub const LANGUAGES: &[(&str, &str)] = &[("fr", "Français"), ("en", "English")];

/// Reads theme files from disk first, then from the embedded copy.
#[derive(Debug, Clone)]
pub struct ThemeFiles {
    dir: Option<PathBuf>,
}

impl ThemeFiles {
    /// Files under `dir` (if it exists) override the embedded themes.
    pub fn new(dir: Option<&Path>) -> Self {
        Self {
            dir: dir.filter(|d| d.is_dir()).map(Path::to_path_buf),
        }
    }

    /// The bytes of `theme/path`, without falling back to another theme.
    pub fn read(&self, theme: &str, path: &str) -> Option<Vec<u8>> {
        if !is_safe(theme) || path.split('/').any(|part| !is_safe(part)) {
            return None;
        }
        let relative = format!("{theme}/{path}");
        let from_disk = self
            .dir
            .as_ref()
            .and_then(|d| std::fs::read(d.join(&relative)).ok());
        from_disk.or_else(|| Embedded::get(&relative).map(|f| f.data.into_owned()))
    }

    /// A file of `theme`, else of `base`.
    pub fn read_layered(&self, theme: &str, path: &str) -> Option<Vec<u8>> {
        self.read(theme, path).or_else(|| self.read("base", path))
    }
}

fn is_safe(part: &str) -> bool {
    !part.is_empty()
        && part != ".."
        && part
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// Flattened messages: `lang → "section.key" → text`.
type Messages = HashMap<String, HashMap<String, String>>;

fn load_messages(files: &ThemeFiles, theme: &str) -> Messages {
    let mut all = Messages::new();
    for (lang, _) in LANGUAGES {
        let mut flat = HashMap::new();
        for layer in ["base", theme] {
            let path = format!("messages/{lang}.toml");
            let Some(bytes) = files.read(layer, &path) else {
                continue;
            };
            let text = String::from_utf8_lossy(&bytes).into_owned();
            match toml::from_str::<toml::Table>(&text) {
                Ok(table) => flatten("", &table, &mut flat),
                Err(error) => {
                    tracing::error!(theme = layer, %lang, %error, "message file unreadable")
                }
            }
        }
        all.insert((*lang).to_owned(), flat);
    }
    all
}

fn flatten(prefix: &str, table: &toml::Table, out: &mut HashMap<String, String>) {
    for (key, value) in table {
        let name = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        match value {
            toml::Value::Table(inner) => flatten(&name, inner, out),
            toml::Value::String(text) => {
                out.insert(name, text.clone());
            }
            _ => {}
        }
    }
}

/// Replaces `{name}` placeholders.
pub(crate) fn fill(template: &str, args: &[(&str, String)]) -> String {
    args.iter()
        .fold(template.to_owned(), |text, (name, value)| {
            text.replace(&format!("{{{name}}}"), value)
        })
}

/// One theme, ready to render.
pub struct Theme {
    name: String,
    env: Environment<'static>,
    messages: Arc<Messages>,
}

impl Theme {
    /// Loads a theme over `base`.
    pub fn load(files: &ThemeFiles, name: &str) -> Self {
        let messages = Arc::new(load_messages(files, name));
        let mut env = Environment::new();
        let loader_files = files.clone();
        let theme = name.to_owned();
        env.set_loader(move |template| {
            let path = format!("templates/{template}");
            Ok(loader_files
                .read_layered(&theme, &path)
                .map(|b| String::from_utf8_lossy(&b).into_owned()))
        });
        let lookup = messages.clone();
        env.add_function(
            "t",
            move |state: &State, key: &str, kwargs: Kwargs| -> Result<String, Error> {
                let lang = state
                    .lookup("lang")
                    .map(|v| v.to_string())
                    .unwrap_or_else(|| "fr".into());
                let text = translate(&lookup, &lang, key);
                let args: Vec<(&str, String)> = kwargs
                    .args()
                    .map(|name| {
                        (
                            name,
                            kwargs
                                .get::<minijinja::Value>(name)
                                .map(|v| v.to_string())
                                .unwrap_or_default(),
                        )
                    })
                    .collect();
                Ok(fill(&text, &args))
            },
        );
        Self {
            name: name.to_owned(),
            env,
            messages,
        }
    }

    /// The theme's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Renders `template` with `context`.
    pub fn render(&self, template: &str, context: &Value) -> Result<String, Error> {
        self.env
            .get_template(template)?
            .render(minijinja::Value::from(Serde(context)))
    }

    /// A message in `lang`, French as the fallback.
    pub fn message(&self, lang: &str, key: &str) -> String {
        translate(&self.messages, lang, key)
    }
}

fn translate(messages: &Messages, lang: &str, key: &str) -> String {
    let find = |l: &str| messages.get(l).and_then(|m| m.get(key)).cloned();
    find(lang)
        .or_else(|| find("fr"))
        .unwrap_or_else(|| key.to_owned())
}

/// Every theme in use, by name.
pub struct Themes {
    files: ThemeFiles,
    themes: HashMap<String, Arc<Theme>>,
    default: String,
    /// Development: every page reads its templates and messages afresh, so that an edit
    /// shows on reload. Otherwise they are read once.
    live: bool,
}

impl Themes {
    /// Loads the default theme and any others named (client themes).
    pub fn load(files: ThemeFiles, default: &str, others: &[String]) -> Result<Self, Error> {
        let mut themes = HashMap::new();
        for name in std::iter::once(default.to_owned())
            .chain(others.iter().cloned())
            .chain(["base".to_owned()])
        {
            let exists = name == "base"
                || files.read(&name, "messages/fr.toml").is_some()
                || files.read(&name, "templates/layout.html").is_some();
            if !exists {
                return Err(Error::new(
                    ErrorKind::TemplateNotFound,
                    format!("theme {name} not found"),
                ));
            }
            themes
                .entry(name.clone())
                .or_insert_with(|| Arc::new(Theme::load(&files, &name)));
        }
        Ok(Self {
            files,
            themes,
            default: default.to_owned(),
            live: false,
        })
    }

    /// The same themes, read afresh for every page (development).
    #[must_use]
    pub fn live(mut self) -> Self {
        self.live = true;
        self
    }

    /// A theme by name, else the default.
    pub fn get(&self, name: Option<&str>) -> Arc<Theme> {
        let wanted = name.and_then(|n| self.themes.get(n));
        match wanted.or_else(|| self.themes.get(&self.default)) {
            Some(theme) if self.live => Arc::new(Theme::load(&self.files, theme.name())),
            Some(theme) => theme.clone(),
            None => Arc::new(Theme::load(&self.files, "base")),
        }
    }

    /// The theme files, for static assets.
    pub fn files(&self) -> &ThemeFiles {
        &self.files
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_layer_over_base() {
        let themes = Themes::load(ThemeFiles::new(None), "constances", &[]);
        let Ok(themes) = themes else {
            panic!("themes did not load")
        };
        let theme = themes.get(None);
        assert_eq!(theme.message("fr", "brand.name"), "Constances");
        assert_eq!(theme.message("fr", "login.password"), "Mot de passe");
        assert_eq!(theme.message("de", "login.password"), "Mot de passe");
        assert_eq!(theme.message("en", "login.password"), "Password");
    }

    fn write(dir: &Path, path: &str, text: &str) {
        let path = dir.join(path);
        let written = path
            .parent()
            .map(std::fs::create_dir_all)
            .and_then(Result::ok)
            .and_then(|()| std::fs::write(&path, text).ok());
        assert!(written.is_some(), "cannot write {}", path.display());
    }

    fn themes_in(dir: &Path) -> Themes {
        match Themes::load(ThemeFiles::new(Some(dir)), "custom", &[]) {
            Ok(themes) => themes,
            Err(error) => panic!("themes did not load: {error}"),
        }
    }

    #[test]
    fn a_theme_overrides_only_what_it_has() {
        let Ok(dir) = tempfile::tempdir() else {
            panic!("no temporary folder")
        };
        write(
            dir.path(),
            "custom/messages/fr.toml",
            "[brand]\nname = \"Étude\"\n",
        );
        write(
            dir.path(),
            "custom/templates/help.html",
            "{% extends \"layout.html\" %}{% block main %}aide sur mesure{% endblock %}",
        );
        let theme = themes_in(dir.path()).get(None);
        let context = serde_json::json!({
            "lang": "fr", "theme": "custom", "base": "",
            "title_key": "error.title", "error_key": "expired",
        });
        let help = theme
            .render("help.html", &context)
            .unwrap_or_else(|e| format!("{e:#}"));
        assert!(
            help.contains("aide sur mesure") && help.contains("Étude"),
            "{help}"
        );
        // A template the theme lacks comes from base, with the theme's words.
        let error = theme
            .render("error.html", &context)
            .unwrap_or_else(|e| format!("{e:#}"));
        assert!(
            error.contains("<main id=\"main\">") && error.contains("Étude"),
            "{error}"
        );
    }

    #[test]
    fn live_themes_show_edits_and_others_do_not() {
        let Ok(dir) = tempfile::tempdir() else {
            panic!("no temporary folder")
        };
        let messages = "custom/messages/fr.toml";
        write(dir.path(), messages, "[brand]\nname = \"Avant\"\n");
        let fixed = themes_in(dir.path());
        let live = themes_in(dir.path()).live();
        write(dir.path(), messages, "[brand]\nname = \"Après\"\n");
        assert_eq!(fixed.get(None).message("fr", "brand.name"), "Avant");
        assert_eq!(live.get(None).message("fr", "brand.name"), "Après");
    }

    #[test]
    fn paths_cannot_escape_the_theme() {
        let files = ThemeFiles::new(None);
        assert!(files.read("base", "../Cargo.toml").is_none());
        assert!(files.read("..", "x").is_none());
        assert!(files.read("base", "static/base.css").is_some());
    }
}
