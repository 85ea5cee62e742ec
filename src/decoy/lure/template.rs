//! What a lure file says. Each built-in template imitates one kind of file people leave lying
//! around, in the format its tool reads; a custom template is any text with the same
//! placeholders. Secret placeholders (`password`, `api_key`, `aws_secret`) are honeytokens
//! minted fresh for each planting; the others fill in what the lure points at.

use rand::Rng;

use crate::decoy::template::{Piece, TemplateError, split};
use crate::honeytoken::{FleetKey, LureId, Shape};

/// Largest custom template accepted.
pub const MAX_TEMPLATE_BYTES: usize = 64 * 1024;

/// A placeholder.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Var {
    /// A honeytoken shaped as a generated password.
    Password,
    /// A honeytoken shaped as an API key or bearer token.
    ApiKey,
    /// A honeytoken shaped as an AWS secret access key.
    AwsSecret,
    /// An AWS access key id to go with it (random, not itself a token).
    AwsKeyId,
    /// The login name the lure names.
    User,
    /// The host the lure points at.
    Host,
    /// The port the lure points at.
    Port,
    /// The lure owner's identity (an email address).
    Owner,
    /// The local part of the owner's address.
    OwnerUser,
}

impl Var {
    const NAMES: [(&'static str, Var); 9] = [
        ("password", Var::Password),
        ("api_key", Var::ApiKey),
        ("aws_secret", Var::AwsSecret),
        ("aws_key_id", Var::AwsKeyId),
        ("user", Var::User),
        ("host", Var::Host),
        ("port", Var::Port),
        ("owner", Var::Owner),
        ("owner_user", Var::OwnerUser),
    ];

    fn from_name(name: &str) -> Option<Var> {
        Var::NAMES.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
    }

    /// The honeytoken shape of a secret placeholder.
    pub fn shape(self) -> Option<Shape> {
        match self {
            Var::Password => Some(Shape::Password),
            Var::ApiKey => Some(Shape::ApiKey),
            Var::AwsSecret => Some(Shape::AwsSecret),
            _ => None,
        }
    }

    /// The placeholder's name.
    pub fn name(self) -> &'static str {
        Var::NAMES
            .iter()
            .find(|(_, v)| *v == self)
            .map(|(n, _)| *n)
            .expect("every var is named")
    }
}

/// The built-in templates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Builtin {
    /// `~/.aws/credentials`.
    AwsCredentials,
    /// A plain-text note with an SSH host, port, user and password.
    SshNotes,
    /// A `~/.ssh/config` Host entry (with the password in a comment, as people do).
    SshConfig,
    /// `~/.netrc`.
    Netrc,
    /// An application's `.env`.
    EnvFile,
    /// `~/.git-credentials`.
    GitCredentials,
    /// `~/.kube/config`.
    Kubeconfig,
    /// A browser's password export.
    PasswordsCsv,
}

impl Builtin {
    /// Every built-in, by name.
    pub const ALL: [(&'static str, Builtin); 8] = [
        ("aws-credentials", Builtin::AwsCredentials),
        ("ssh-notes", Builtin::SshNotes),
        ("ssh-config", Builtin::SshConfig),
        ("netrc", Builtin::Netrc),
        ("env-file", Builtin::EnvFile),
        ("git-credentials", Builtin::GitCredentials),
        ("kubeconfig", Builtin::Kubeconfig),
        ("passwords-csv", Builtin::PasswordsCsv),
    ];

    /// The built-in called `name`.
    pub fn from_name(name: &str) -> Option<Builtin> {
        Builtin::ALL
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, b)| *b)
    }

    /// Its name.
    pub fn name(self) -> &'static str {
        Builtin::ALL
            .iter()
            .find(|(_, b)| *b == self)
            .map(|(n, _)| *n)
            .expect("every built-in is named")
    }

    /// Comma-separated names, for messages.
    pub fn names() -> String {
        Builtin::ALL
            .iter()
            .map(|(n, _)| *n)
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The mode the real file usually has.
    pub fn mode(self) -> u32 {
        match self {
            Builtin::SshNotes | Builtin::PasswordsCsv | Builtin::EnvFile => 0o644,
            _ => 0o600,
        }
    }

    fn text(self) -> &'static str {
        match self {
            Builtin::AwsCredentials => {
                "[default]\n\
                 aws_access_key_id = {{aws_key_id}}\n\
                 aws_secret_access_key = {{aws_secret}}\n"
            }
            Builtin::SshNotes => {
                "build box (CI runners) - ask before rebooting, jobs run overnight\n\
                 \x20 ssh {{user}}@{{host}} -p {{port}}\n\
                 \x20 pw: {{password}}\n\
                 \n\
                 TODO: move this into the vault and switch to keys\n"
            }
            Builtin::SshConfig => {
                "Host build\n\
                 \x20   HostName {{host}}\n\
                 \x20   Port {{port}}\n\
                 \x20   User {{user}}\n\
                 \x20   # password auth until the new keys are rolled out: {{password}}\n\
                 \x20   ServerAliveInterval 60\n\
                 \n\
                 Host *\n\
                 \x20   AddKeysToAgent yes\n"
            }
            Builtin::Netrc => {
                "machine {{host}}\n\
                 login {{user}}\n\
                 password {{password}}\n"
            }
            Builtin::EnvFile => {
                "# local settings, do not commit\n\
                 APP_ENV=production\n\
                 DATABASE_URL=postgres://{{user}}:{{password}}@{{host}}:{{port}}/app\n\
                 API_KEY={{api_key}}\n\
                 LOG_LEVEL=info\n"
            }
            Builtin::GitCredentials => "https://{{user}}:{{password}}@{{host}}:{{port}}\n",
            Builtin::Kubeconfig => {
                "apiVersion: v1\n\
                 kind: Config\n\
                 clusters:\n\
                 - cluster:\n\
                 \x20   insecure-skip-tls-verify: true\n\
                 \x20   server: https://{{host}}:{{port}}\n\
                 \x20 name: build\n\
                 contexts:\n\
                 - context:\n\
                 \x20   cluster: build\n\
                 \x20   user: {{user}}\n\
                 \x20 name: build\n\
                 current-context: build\n\
                 preferences: {}\n\
                 users:\n\
                 - name: {{user}}\n\
                 \x20 user:\n\
                 \x20   token: {{api_key}}\n"
            }
            Builtin::PasswordsCsv => {
                "name,url,username,password,note\n\
                 {{host}},https://{{host}}:{{port}}/login,{{user}},{{password}},\n"
            }
        }
    }
}

/// A compiled lure template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LureTemplate {
    /// `aws-credentials`, ..., or `custom`.
    pub name: String,
    pieces: Vec<Piece<Var>>,
    /// Mode used when the lure does not set one.
    pub default_mode: u32,
}

/// What a lure points at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fill<'a> {
    /// Host name or address.
    pub host: &'a str,
    /// Port.
    pub port: u16,
    /// Login name.
    pub user: &'a str,
    /// The owner's identity.
    pub owner: &'a str,
}

/// A rendered lure: the file's text and the honeytokens in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rendered {
    /// The file's contents.
    pub text: String,
    /// Each secret placeholder and the token it was given.
    pub tokens: Vec<(Var, String)>,
}

fn expected_names() -> String {
    Var::NAMES
        .iter()
        .map(|(n, _)| format!("{{{{{n}}}}}"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl LureTemplate {
    /// A built-in template.
    pub fn builtin(b: Builtin) -> LureTemplate {
        let pieces = split(b.text(), Var::from_name, "").expect("built-in templates are valid");
        LureTemplate {
            name: b.name().into(),
            pieces,
            default_mode: b.mode(),
        }
    }

    /// Compiles a custom template file's text.
    pub fn custom(text: &str) -> Result<LureTemplate, Vec<TemplateError>> {
        let pieces = split(text, Var::from_name, &expected_names())?;
        Ok(LureTemplate {
            name: "custom".into(),
            pieces,
            default_mode: 0o600,
        })
    }

    /// Whether the template has the placeholder `var`.
    pub fn uses(&self, var: Var) -> bool {
        self.pieces
            .iter()
            .any(|p| matches!(p, Piece::Slot(v) if *v == var))
    }

    /// Whether the template carries any honeytoken.
    pub fn has_secret(&self) -> bool {
        self.pieces
            .iter()
            .any(|p| matches!(p, Piece::Slot(v) if v.shape().is_some()))
    }

    /// Renders the file, minting one fresh token per secret placeholder name (a name used
    /// twice gets the same token both times, as the real file would repeat it).
    pub fn render(&self, key: &FleetKey, id: LureId, fill: &Fill, rng: &mut impl Rng) -> Rendered {
        let mut tokens: Vec<(Var, String)> = Vec::new();
        let mut text = String::new();
        for p in &self.pieces {
            match p {
                Piece::Text(t) => text.push_str(t),
                Piece::Slot(v) => {
                    let value = match v.shape() {
                        Some(shape) => match tokens.iter().find(|(t, _)| t == v) {
                            Some((_, tok)) => tok.clone(),
                            None => {
                                let tok = key.mint(id, shape, rng);
                                tokens.push((*v, tok.clone()));
                                tok
                            }
                        },
                        None => match v {
                            Var::AwsKeyId => aws_key_id(key, id),
                            Var::User => fill.user.to_string(),
                            Var::Host => fill.host.to_string(),
                            Var::Port => fill.port.to_string(),
                            Var::Owner => fill.owner.to_string(),
                            Var::OwnerUser => owner_user(fill.owner).to_string(),
                            _ => unreachable!("secret placeholders have a shape"),
                        },
                    };
                    text.push_str(&value);
                }
            }
        }
        Rendered { text, tokens }
    }
}

/// The local part of an email address.
pub fn owner_user(owner: &str) -> &str {
    owner.split('@').next().unwrap_or(owner)
}

/// `AKIA` and 16 characters of AWS's base32 alphabet, stable per lure.
fn aws_key_id(key: &FleetKey, id: LureId) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    // Derived rather than random so a re-planted lure keeps its key id, as a real one would.
    let bytes = key.derive(&format!("aws-key-id:{id}"));
    let mut s = String::from("AKIA");
    s.extend(
        bytes[..16]
            .iter()
            .map(|b| ALPHABET[*b as usize % 32] as char),
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn fill() -> Fill<'static> {
        Fill {
            host: "build-07.corp.example",
            port: 22,
            user: "deploy",
            owner: "alice@example.com",
        }
    }

    #[test]
    fn every_builtin_renders_its_tokens_and_no_placeholder_is_left() {
        let key = FleetKey::new(&[5; 32]);
        let id = key.lure_id("l");
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        for (name, b) in Builtin::ALL {
            let t = LureTemplate::builtin(b);
            assert!(t.has_secret(), "{name}");
            let r = t.render(&key, id, &fill(), &mut rng);
            assert!(!r.text.contains("{{"), "{name}: {}", r.text);
            assert!(!r.tokens.is_empty(), "{name}");
            for (_, tok) in &r.tokens {
                assert!(r.text.contains(tok.as_str()));
                assert_eq!(key.recognise(tok), Some(id), "{name}");
            }
            assert!(r.text.ends_with('\n'), "{name}");
        }
    }

    #[test]
    fn a_repeated_secret_placeholder_repeats_one_token() {
        let t = LureTemplate::custom("a={{password}}\nb={{ password }}\nc={{api_key}}\n").unwrap();
        let key = FleetKey::new(&[5; 32]);
        let mut rng = rand::rngs::StdRng::seed_from_u64(2);
        let r = t.render(&key, key.lure_id("x"), &fill(), &mut rng);
        assert_eq!(r.tokens.len(), 2);
        let lines: Vec<&str> = r.text.lines().collect();
        assert_eq!(lines[0][2..], lines[1][2..]);
    }

    #[test]
    fn a_custom_template_reports_unknown_placeholders_where_they_are() {
        let errs = LureTemplate::custom("user={{user}}\npass={{pasword}}\n").unwrap_err();
        assert_eq!(errs.len(), 1);
        assert_eq!((errs[0].line, errs[0].column), (2, 6));
        assert!(errs[0].message.contains("{{pasword}}"));
        assert!(errs[0].message.contains("{{password}}"));
    }

    #[test]
    fn aws_key_ids_look_like_aws_key_ids() {
        let key = FleetKey::new(&[5; 32]);
        let a = aws_key_id(&key, key.lure_id("a"));
        assert_eq!(a.len(), 20);
        assert!(a.starts_with("AKIA"));
        assert!(
            a[4..]
                .bytes()
                .all(|c| c.is_ascii_uppercase() || (b'2'..=b'7').contains(&c))
        );
        assert_ne!(a, aws_key_id(&key, key.lure_id("b")));
    }
}
