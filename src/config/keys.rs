//! Unknown keys, all of them. serde stops at the first unknown field, so each file is first
//! read as a tree of keys with their positions and checked against the fields of the raw
//! serde structs (taken from serde itself, so the two can never disagree); every unknown key
//! is reported, with a suggestion when it looks like a typo.

use std::path::Path;

use serde::de::{self, DeserializeOwned, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, forward_to_deserialize_any};
use serde_saphyr::Spanned;

use super::{ConfigError, ConfigErrors};

/// The keys of a YAML document with their positions; values other than mappings are skipped.
#[derive(Debug)]
pub enum KeyTree {
    /// A mapping: each key and what is under it.
    Map(Vec<(Spanned<String>, KeyTree)>),
    /// A list: what each item is.
    List(Vec<KeyTree>),
    /// Anything that is not a mapping.
    Leaf,
}

impl<'de> Deserialize<'de> for KeyTree {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = KeyTree;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("any YAML value")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<KeyTree, A::Error> {
                let mut entries = Vec::new();
                while let Some(k) = m.next_key::<Spanned<String>>()? {
                    entries.push((k, m.next_value::<KeyTree>()?));
                }
                Ok(KeyTree::Map(entries))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<KeyTree, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = s.next_element::<KeyTree>()? {
                    items.push(item);
                }
                Ok(KeyTree::List(items))
            }
            fn visit_str<E>(self, _: &str) -> Result<KeyTree, E> {
                Ok(KeyTree::Leaf)
            }
            fn visit_string<E>(self, _: String) -> Result<KeyTree, E> {
                Ok(KeyTree::Leaf)
            }
            fn visit_i64<E>(self, _: i64) -> Result<KeyTree, E> {
                Ok(KeyTree::Leaf)
            }
            fn visit_u64<E>(self, _: u64) -> Result<KeyTree, E> {
                Ok(KeyTree::Leaf)
            }
            fn visit_f64<E>(self, _: f64) -> Result<KeyTree, E> {
                Ok(KeyTree::Leaf)
            }
            fn visit_bool<E>(self, _: bool) -> Result<KeyTree, E> {
                Ok(KeyTree::Leaf)
            }
            fn visit_unit<E>(self) -> Result<KeyTree, E> {
                Ok(KeyTree::Leaf)
            }
            fn visit_none<E>(self) -> Result<KeyTree, E> {
                Ok(KeyTree::Leaf)
            }
        }
        d.deserialize_any(V)
    }
}

/// The keys a mapping may have, and the mappings nested under some of them.
pub struct Schema {
    /// Allowed keys.
    pub fields: &'static [&'static str],
    /// Keys whose value is itself a checked mapping, or a list of such mappings.
    pub sections: Vec<(&'static str, Schema)>,
}

impl Schema {
    /// The fields of a raw serde struct, with no nested sections.
    pub fn of<T: DeserializeOwned>() -> Schema {
        Schema {
            fields: fields_of::<T>(),
            sections: Vec::new(),
        }
    }

    /// Adds a nested section.
    pub fn section(mut self, key: &'static str, schema: Schema) -> Schema {
        self.sections.push((key, schema));
        self
    }
}

/// Reports every key of `tree` that `schema` does not allow (in each item of a list).
pub fn check(file: &Path, tree: &KeyTree, schema: &Schema, errors: &mut ConfigErrors) {
    if let KeyTree::List(items) = tree {
        for item in items {
            check(file, item, schema, errors);
        }
        return;
    }
    let KeyTree::Map(entries) = tree else { return };
    for (key, sub) in entries {
        if !schema.fields.contains(&key.value.as_str()) {
            let mut msg = format!(
                "unknown key `{}`, expected one of {}",
                key.value,
                schema.fields.join(", ")
            );
            if let Some(near) = schema
                .fields
                .iter()
                .map(|f| (edit_distance(f, &key.value.to_ascii_lowercase()), f))
                .filter(|(d, _)| *d <= 2)
                .min_by_key(|(d, _)| *d)
                .map(|(_, f)| f)
            {
                msg.push_str(&format!(" (did you mean `{near}`?)"));
            }
            errors.push(ConfigError::spanned(file, key, msg));
        } else if let Some((_, nested)) = schema.sections.iter().find(|(k, _)| *k == key.value) {
            check(file, sub, nested, errors);
        }
    }
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            cur.push(
                (prev[j] + usize::from(ca != *cb))
                    .min(prev[j + 1] + 1)
                    .min(cur[j] + 1),
            );
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The field names serde derived for a struct, read by asking it to deserialize itself from a
/// deserializer that only records what it is asked for.
pub fn fields_of<T: DeserializeOwned>() -> &'static [&'static str] {
    let mut fields = None;
    let _ = T::deserialize(Probe(&mut fields));
    fields.unwrap_or(&[])
}

struct Probe<'a>(&'a mut Option<&'static [&'static str]>);

impl<'de> Deserializer<'de> for Probe<'_> {
    type Error = de::value::Error;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
        Err(de::Error::custom("probe"))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, Self::Error> {
        *self.0 = Some(fields);
        Err(de::Error::custom("probe"))
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::raw::{RawHttp, RawHttpLimits};

    #[test]
    fn fields_come_from_serde() {
        let f = fields_of::<RawHttpLimits>();
        assert!(f.contains(&"max_body_size") && f.contains(&"write_timeout"));
        assert!(fields_of::<RawHttp>().contains(&"listen"));
    }

    #[test]
    fn every_unknown_key_is_reported_with_a_suggestion() {
        let yaml =
            "kind: http\nskn: generic\nlimits:\n  max_body: 1\n  max_connections: 2\ntitel: x\n";
        let tree: KeyTree = serde_saphyr::from_str(yaml).unwrap();
        let schema = Schema::of::<RawHttp>().section("limits", Schema::of::<RawHttpLimits>());
        let mut errors = ConfigErrors::default();
        check(Path::new("d.yaml"), &tree, &schema, &mut errors);
        let msgs: Vec<String> = errors.0.iter().map(|e| e.to_string()).collect();
        assert_eq!(msgs.len(), 3, "{msgs:#?}");
        assert!(
            msgs[0].starts_with("d.yaml:2:1: unknown key `skn`")
                && msgs[0].ends_with("(did you mean `skin`?)")
        );
        assert!(msgs[1].starts_with("d.yaml:4:3: unknown key `max_body`"));
        assert!(
            msgs[2].starts_with("d.yaml:6:1: unknown key `titel`")
                && msgs[2].ends_with("(did you mean `title`?)")
        );
    }

    #[test]
    fn the_nearest_key_is_suggested() {
        let tree: KeyTree = serde_saphyr::from_str("Skin: x\n").unwrap();
        let mut errors = ConfigErrors::default();
        check(
            Path::new("d.yaml"),
            &tree,
            &Schema::of::<RawHttp>(),
            &mut errors,
        );
        assert!(
            errors.0[0].message.ends_with("(did you mean `skin`?)"),
            "{}",
            errors.0[0]
        );
    }

    #[test]
    fn distances() {
        assert_eq!(edit_distance("skin", "skn"), 1);
        assert_eq!(edit_distance("listen", "lsiten"), 2);
        assert_eq!(edit_distance("page", "limits"), 6);
    }
}
