//! Authorization with Cedar policies: may this key do this operation on this
//! model? Deny unless a policy permits, and no policy forbids.
//!
//! - principal: `Key::"<key id>"`, in `Group::"<group>"` for each of its
//!   groups, with `owner` and `tier` ("" when none);
//! - action: `Action::"chat" | "complete" | "embed" | "infer" | "metadata"`,
//!   or `Action::"admin"` for the admin endpoints;
//! - resource: `Model::"<model>"` with `route`, `protocol` and `sensitivity`
//!   (from `[models.NAME]`, default "normal"); for admin, `Gateway::"gateway"`
//!   with route and protocol "admin" and sensitivity "high";
//! - context: `client` (the client's IP address) and `stream`.
//!
//! Policies are checked against the schema below when they are loaded; a
//! policy that names an unknown attribute or action is refused then, not
//! found wanting on a live request.

use cedar_policy::{
    Authorizer, Context, Decision, Entities, Entity, EntityId, EntityTypeName, EntityUid,
    PolicySet, Request, RestrictedExpression, Schema, ValidationMode, Validator,
};
use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::str::FromStr;

/// The entities, actions and context policies are written against.
pub const SCHEMA: &str = r#"
entity Group;
entity Key in [Group] {
  owner: String,
  tier: String,
};
entity Model {
  route: String,
  protocol: String,
  sensitivity: String,
};
action chat, complete, embed, infer, metadata appliesTo {
  principal: [Key],
  resource: [Model],
  context: {
    client: String,
    stream: Bool,
  },
};
entity Gateway {
  route: String,
  protocol: String,
  sensitivity: String,
};
action admin appliesTo {
  principal: [Key],
  resource: [Gateway],
  context: {
    client: String,
    stream: Bool,
  },
};
"#;

/// What a request asks, as Cedar sees it.
pub struct Query<'a> {
    pub key_id: &'a str,
    pub owner: &'a str,
    pub tier: &'a str,
    pub groups: &'a [String],
    pub action: &'a str,
    pub model: &'a str,
    pub route: &'a str,
    pub protocol: &'a str,
    pub sensitivity: &'a str,
    pub client: &'a str,
    pub stream: bool,
}

/// The decision and the policies that made it (their `@id`, or Cedar's id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub allowed: bool,
    pub policies: Vec<String>,
    /// Errors evaluating policies (a policy that errors does not apply).
    pub errors: Vec<String>,
}

pub struct Policies {
    set: PolicySet,
    schema: Schema,
    authorizer: Authorizer,
}

impl Policies {
    /// Reads and validates the Cedar policies at `path`.
    pub fn load(path: &Path) -> Result<Policies, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        Policies::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    pub fn parse(text: &str) -> Result<Policies, String> {
        let (schema, _) = Schema::from_cedarschema_str(SCHEMA)
            .map_err(|e| format!("internal error: built-in schema: {e}"))?;
        let set = PolicySet::from_str(text).map_err(|e| first_line(&e.to_string()))?;
        let result = Validator::new(schema.clone()).validate(&set, ValidationMode::Strict);
        if let Some(e) = result.validation_errors().next() {
            return Err(format!("policy does not fit the gateway's schema: {e}"));
        }
        Ok(Policies {
            set,
            schema,
            authorizer: Authorizer::new(),
        })
    }

    pub fn len(&self) -> usize {
        self.set.policies().count()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Decides one request.
    pub fn decide(&self, q: &Query<'_>) -> Result<Verdict, String> {
        let uid = |kind: &str, id: &str| -> Result<EntityUid, String> {
            let name = EntityTypeName::from_str(kind).map_err(|e| e.to_string())?;
            Ok(EntityUid::from_type_name_and_id(name, EntityId::new(id)))
        };
        let s = |v: &str| RestrictedExpression::new_string(v.to_string());
        let key = uid("Key", q.key_id)?;
        let admin = q.action == "admin";
        let model = uid(if admin { "Gateway" } else { "Model" }, q.model)?;
        let groups: HashSet<EntityUid> = q
            .groups
            .iter()
            .map(|g| uid("Group", g))
            .collect::<Result<_, _>>()?;
        let mut entities: Vec<Entity> = groups
            .iter()
            .map(|g| Entity::new_no_attrs(g.clone(), HashSet::new()))
            .collect();
        entities.push(
            Entity::new(
                key.clone(),
                HashMap::from([
                    ("owner".to_string(), s(q.owner)),
                    ("tier".to_string(), s(q.tier)),
                ]),
                groups,
            )
            .map_err(|e| e.to_string())?,
        );
        // The gateway has the attributes a model has, so that policies
        // written for every action still check against the schema.
        entities.push(
            Entity::new(
                model.clone(),
                HashMap::from([
                    ("route".to_string(), s(q.route)),
                    ("protocol".to_string(), s(q.protocol)),
                    ("sensitivity".to_string(), s(q.sensitivity)),
                ]),
                HashSet::new(),
            )
            .map_err(|e| e.to_string())?,
        );
        let entities =
            Entities::from_entities(entities, Some(&self.schema)).map_err(|e| e.to_string())?;
        let context = Context::from_pairs([
            ("client".to_string(), s(q.client)),
            (
                "stream".to_string(),
                RestrictedExpression::new_bool(q.stream),
            ),
        ])
        .map_err(|e| e.to_string())?;
        let request = Request::new(
            key,
            uid("Action", q.action)?,
            model,
            context,
            Some(&self.schema),
        )
        .map_err(|e| e.to_string())?;
        let response = self
            .authorizer
            .is_authorized(&request, &self.set, &entities);
        let policies = response
            .diagnostics()
            .reason()
            .map(|id| {
                self.set
                    .annotation(id, "id")
                    .map_or_else(|| id.to_string(), str::to_string)
            })
            .collect();
        Ok(Verdict {
            allowed: response.decision() == Decision::Allow,
            policies,
            errors: response
                .diagnostics()
                .errors()
                .map(|e| e.to_string())
                .collect(),
        })
    }
}

/// Cedar's parse errors span lines; the first line names the problem.
fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or(text).to_string()
}

impl std::fmt::Debug for Policies {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Policies({} policies)", self.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query<'a>(groups: &'a [String], action: &'a str, sensitivity: &'a str) -> Query<'a> {
        Query {
            key_id: "k1",
            owner: "alice",
            tier: "",
            groups,
            action,
            model: "llama",
            route: "llm",
            protocol: "openai",
            sensitivity,
            client: "10.0.0.1",
            stream: false,
        }
    }

    const POLICIES: &str = r#"
@id("ml-team-chat")
permit (principal in Group::"ml", action in [Action::"chat", Action::"embed"], resource);

@id("no-high-sensitivity-for-interns")
forbid (principal in Group::"interns", action, resource)
when { resource.sensitivity == "high" };
"#;

    #[test]
    fn permits_forbids_and_denies_by_default() {
        let p = Policies::parse(POLICIES).unwrap();
        let ml = vec!["ml".to_string()];
        let v = p.decide(&query(&ml, "chat", "normal")).unwrap();
        assert!(v.allowed);
        assert_eq!(v.policies, vec!["ml-team-chat"]);
        assert!(
            !p.decide(&query(&ml, "infer", "normal")).unwrap().allowed,
            "no policy permits infer"
        );
        let intern = vec!["ml".to_string(), "interns".to_string()];
        let v = p.decide(&query(&intern, "chat", "high")).unwrap();
        assert!(!v.allowed);
        assert_eq!(v.policies, vec!["no-high-sensitivity-for-interns"]);
        assert!(!p.decide(&query(&[], "chat", "normal")).unwrap().allowed);
    }

    #[test]
    fn policies_that_do_not_fit_the_schema_are_refused_at_load() {
        let e = Policies::parse("permit (principal, action == Action::\"delete\", resource);")
            .err()
            .unwrap();
        assert!(e.contains("schema"), "{e}");
        let e = Policies::parse(
            "permit (principal, action, resource) when { resource.colour == \"red\" };",
        )
        .err()
        .unwrap();
        assert!(e.contains("schema"), "{e}");
        assert!(Policies::parse("permit (principal, action, resource").is_err());
    }
}
