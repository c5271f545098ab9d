//! The personal-data and secrets guard: `mlsec data pii`'s detector over a
//! request's texts. Secrets in prompts leak to the model provider and into
//! its logs; personal data may not be allowed to leave at all.

use crate::{Guard, Hit, Request};
use mlsec_pii::{Detector, Entity};

pub struct PiiGuard {
    detector: Detector,
    min_confidence: f32,
}

impl PiiGuard {
    /// A guard for `entities` (by `mlsec data pii` name, e.g. `PRIVATE_KEY`,
    /// `EMAIL`; `secrets` for every credential kind), reporting spans of at
    /// least `min_confidence`.
    pub fn new(entities: &[String], min_confidence: f32) -> Result<PiiGuard, String> {
        Ok(PiiGuard {
            detector: Detector::new(&entities_named(entities)?),
            min_confidence,
        })
    }
}

/// The entities `names` asks for (`secrets`: every credential kind).
pub(crate) fn entities_named(names: &[String]) -> Result<Vec<Entity>, String> {
    let mut chosen: Vec<Entity> = Vec::new();
    for name in names {
        if name.eq_ignore_ascii_case("secrets") {
            chosen.extend(Entity::ALL.iter().copied().filter(|e| e.is_secret()));
            continue;
        }
        let entity = Entity::ALL
            .iter()
            .copied()
            .find(|e| e.as_str().eq_ignore_ascii_case(name))
            .ok_or_else(|| {
                format!("`{name}` is not an entity of mlsec data pii (nor `secrets`)")
            })?;
        chosen.push(entity);
    }
    if chosen.is_empty() {
        return Err("name at least one entity".into());
    }
    chosen.sort_by_key(|e| e.as_str());
    chosen.dedup();
    Ok(chosen)
}

impl Guard for PiiGuard {
    fn check(&self, request: &Request, hits: &mut Vec<Hit>) {
        for t in request.texts {
            for span in self.detector.detect(&t.text) {
                if span.confidence < self.min_confidence {
                    continue;
                }
                hits.push(Hit {
                    rule: span.entity.as_str().to_string(),
                    family: if span.entity.is_secret() {
                        "secret"
                    } else {
                        "pii"
                    }
                    .to_string(),
                    location: t.location.clone(),
                    start: span.start,
                    end: span.end,
                    score: span.confidence,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::texts;
    use serde_json::json;

    fn hits(guard: &PiiGuard, body: serde_json::Value) -> Vec<Hit> {
        let mut out = Vec::new();
        guard.check(&Request::new(Some(&body), &texts(&body)), &mut out);
        out
    }

    #[test]
    fn secrets_in_prompts_are_found_with_their_place() {
        let g = PiiGuard::new(&["secrets".into()], 0.5).unwrap();
        let key = "AKIA".to_string() + "IOSFODNN7EXAMPLQ";
        let body = json!({"model": "m", "messages": [
            {"role": "user", "content": "what's the weather"},
            {"role": "user", "content": format!("deploy with {key} please")}
        ]});
        let found = hits(&g, body);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].rule, "AWS_ACCESS_KEY");
        assert_eq!(found[0].family, "secret");
        assert_eq!(found[0].location, "messages[1].content");
        assert_eq!((found[0].start, found[0].end), (12, 32));
        // Plain text, and personal data a secrets guard is not asked about.
        let clean = json!({"messages": [{"role": "user", "content": "mail jane.doe@example.com about the ignore list"}]});
        assert!(hits(&g, clean).is_empty());
    }

    #[test]
    fn entities_are_checked_by_name() {
        assert!(PiiGuard::new(&["EMAIL".into(), "private_key".into()], 0.5).is_ok());
        let e = PiiGuard::new(&["SHOE_SIZE".into()], 0.5).err().unwrap();
        assert!(e.contains("SHOE_SIZE"), "{e}");
        assert!(PiiGuard::new(&[], 0.5).is_err());
        let g = PiiGuard::new(&["EMAIL".into()], 0.5).unwrap();
        let found = hits(&g, json!({"input": ["write to jane.doe@example.com"]}));
        assert_eq!(found[0].location, "input[0]");
        assert_eq!(found[0].family, "pii");
    }
}
