//! mlsec-pii's detectors behind the [`Detect`] seam the readers use.

use crate::detect::{Detect, FieldHint, Hit};

/// The PII and secret detectors of mlsec-pii, for the data commands.
pub struct PiiDetector(mlsec_pii::Detector);

impl PiiDetector {
    /// Detectors for the named entities (`EMAIL`, `AWS_ACCESS_KEY`, ...);
    /// all of them when `entities` is empty. An unknown name is an error that
    /// lists the known ones.
    pub fn for_entities(entities: &[String]) -> Result<PiiDetector, crate::DatasetError> {
        let mut wanted = Vec::new();
        for name in entities {
            let entity: mlsec_pii::Entity = name.parse().map_err(|_| {
                let known: Vec<&str> = mlsec_pii::Entity::ALL.iter().map(|e| e.as_str()).collect();
                crate::DatasetError::Usage(format!(
                    "--entities: unknown entity `{name}` (known: {})",
                    known.join(", ")
                ))
            })?;
            wanted.push(entity);
        }
        Ok(PiiDetector(mlsec_pii::Detector::new(&wanted)))
    }
}

fn hit(s: mlsec_pii::Span) -> Hit {
    Hit {
        entity: s.entity.as_str(),
        secret: s.entity.is_secret(),
        start: s.start,
        end: s.end,
        confidence: s.confidence,
    }
}

impl Detect for PiiDetector {
    fn detect(&self, field: Option<&str>, text: &str, out: &mut Vec<Hit>) {
        self.0.detect_each(field, text, |s| out.push(hit(s)))
    }

    /// Works out a field name's context once, for all the values under it.
    fn field(&self, name: Option<&str>) -> FieldHint {
        FieldHint(self.0.field(name).to_bits())
    }

    fn detect_in(&self, field: FieldHint, text: &str, out: &mut Vec<Hit>) {
        let field = mlsec_pii::Field::from_bits(field.0);
        self.0.detect_each_in(field, text, |s| out.push(hit(s)))
    }

    fn mask(&self, entity: &str, value: &str) -> String {
        match entity.parse::<mlsec_pii::Entity>() {
            Ok(e) => mlsec_pii::mask(e, value),
            Err(_) => "*".repeat(value.chars().count().min(16)),
        }
    }
}
