//! The same BOM as CycloneDX 1.6 XML. Elements follow the order of the
//! sequences in the official `bom-1.6.xsd`; where XML differs from JSON
//! (hashes as `<hash alg="..">`, properties as `<property name="..">`,
//! dependencies nested, licences and tags wrapped) it is written the XML way.

use crate::cyclonedx::{
    Bom, Component, ComponentType, Dependency, ExternalReference, Hash, LicenseChoice, ModelCard,
    OrganizationalEntity, Property, Vulnerability,
};

/// The namespace of CycloneDX 1.6 XML documents.
pub const NAMESPACE: &str = "http://cyclonedx.org/schema/bom/1.6";

/// The BOM as an indented XML document with a trailing newline.
pub fn to_xml(bom: &Bom) -> String {
    let mut w = Writer::default();
    w.out
        .push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let version = bom.version.to_string();
    w.open(
        "bom",
        &[
            ("xmlns", NAMESPACE),
            ("serialNumber", &bom.serial_number),
            ("version", &version),
        ],
    );
    w.open("metadata", &[]);
    w.leaf("timestamp", &bom.metadata.timestamp);
    w.open("tools", &[]);
    components(&mut w, "components", &bom.metadata.tools.components);
    w.close("tools");
    component(&mut w, "component", &bom.metadata.component);
    properties(&mut w, &bom.metadata.properties);
    w.close("metadata");
    components(&mut w, "components", &bom.components);
    dependencies(&mut w, &bom.dependencies);
    if !bom.vulnerabilities.is_empty() {
        w.open("vulnerabilities", &[]);
        for v in &bom.vulnerabilities {
            vulnerability(&mut w, v);
        }
        w.close("vulnerabilities");
    }
    w.close("bom");
    w.out
}

fn components(w: &mut Writer, wrapper: &str, list: &[Component]) {
    if list.is_empty() {
        return;
    }
    w.open(wrapper, &[]);
    for c in list {
        component(w, "component", c);
    }
    w.close(wrapper);
}

fn component_type(kind: ComponentType) -> &'static str {
    match kind {
        ComponentType::Application => "application",
        ComponentType::Library => "library",
        ComponentType::File => "file",
        ComponentType::MachineLearningModel => "machine-learning-model",
        ComponentType::Data => "data",
    }
}

/// `bom:component`: supplier, authors, name, version, description, hashes,
/// licenses, purl, pedigree, externalReferences, properties, components,
/// modelCard, data, tags.
fn component(w: &mut Writer, tag: &str, c: &Component) {
    let mut attrs = vec![("type", component_type(c.kind))];
    if let Some(r) = &c.bom_ref {
        attrs.push(("bom-ref", r));
    }
    w.open(tag, &attrs);
    if let Some(s) = &c.supplier {
        organization(w, "supplier", s);
    }
    if !c.authors.is_empty() {
        w.open("authors", &[]);
        for a in &c.authors {
            w.open("author", &[]);
            w.leaf("name", &a.name);
            w.close("author");
        }
        w.close("authors");
    }
    w.leaf("name", &c.name);
    w.opt_leaf("version", c.version.as_deref());
    w.opt_leaf("description", c.description.as_deref());
    hashes(w, &c.hashes);
    licenses(w, &c.licenses);
    w.opt_leaf("purl", c.purl.as_deref());
    if let Some(p) = &c.pedigree {
        w.open("pedigree", &[]);
        components(w, "ancestors", &p.ancestors);
        w.close("pedigree");
    }
    external_references(w, &c.external_references);
    properties(w, &c.properties);
    components(w, "components", &c.components);
    if let Some(card) = &c.model_card {
        model_card(w, card);
    }
    for d in &c.data {
        w.open("data", &[]);
        w.leaf("type", d.kind);
        w.leaf("name", &d.name);
        w.close("data");
    }
    if !c.tags.is_empty() {
        w.open("tags", &[]);
        for t in &c.tags {
            w.leaf("tag", t);
        }
        w.close("tags");
    }
    w.close(tag);
}

fn organization(w: &mut Writer, tag: &str, o: &OrganizationalEntity) {
    w.open(tag, &[]);
    w.leaf("name", &o.name);
    for url in &o.url {
        w.leaf("url", url);
    }
    w.close(tag);
}

fn hashes(w: &mut Writer, list: &[Hash]) {
    if list.is_empty() {
        return;
    }
    w.open("hashes", &[]);
    for h in list {
        w.leaf_with("hash", &[("alg", h.alg)], &h.content);
    }
    w.close("hashes");
}

/// `<licenses><license><id>..</id></license></licenses>`, or `<name>`.
fn licenses(w: &mut Writer, list: &[LicenseChoice]) {
    if list.is_empty() {
        return;
    }
    w.open("licenses", &[]);
    for l in list {
        w.open("license", &[]);
        w.opt_leaf("id", l.license.id.as_deref());
        w.opt_leaf("name", l.license.name.as_deref());
        w.close("license");
    }
    w.close("licenses");
}

fn external_references(w: &mut Writer, list: &[ExternalReference]) {
    if list.is_empty() {
        return;
    }
    w.open("externalReferences", &[]);
    for r in list {
        w.open("reference", &[("type", r.kind)]);
        w.leaf("url", &r.url);
        if let Some(comment) = &r.comment {
            w.leaf("comment", comment);
        }
        w.close("reference");
    }
    w.close("externalReferences");
}

fn properties(w: &mut Writer, list: &[Property]) {
    if list.is_empty() {
        return;
    }
    w.open("properties", &[]);
    for p in list {
        w.leaf_with("property", &[("name", &p.name)], &p.value);
    }
    w.close("properties");
}

/// `bom:modelCardType`: modelParameters (task, architectureFamily,
/// modelArchitecture, datasets), quantitativeAnalysis, properties.
fn model_card(w: &mut Writer, card: &ModelCard) {
    w.open("modelCard", &[]);
    let p = &card.model_parameters;
    if !p.is_empty() {
        w.open("modelParameters", &[]);
        w.opt_leaf("task", p.task.as_deref());
        w.opt_leaf("architectureFamily", p.architecture_family.as_deref());
        w.opt_leaf("modelArchitecture", p.model_architecture.as_deref());
        if !p.datasets.is_empty() {
            w.open("datasets", &[]);
            for d in &p.datasets {
                w.leaf("ref", &d.reference);
            }
            w.close("datasets");
        }
        w.close("modelParameters");
    }
    let q = &card.quantitative_analysis;
    if !q.is_empty() {
        w.open("quantitativeAnalysis", &[]);
        w.open("performanceMetrics", &[]);
        for m in &q.performance_metrics {
            w.open("performanceMetric", &[]);
            w.leaf("type", &m.kind);
            w.leaf("value", &m.value);
            w.opt_leaf("slice", m.slice.as_deref());
            if let Some(ci) = &m.confidence_interval {
                w.open("confidenceInterval", &[]);
                w.leaf("lowerBound", &ci.lower_bound);
                w.leaf("upperBound", &ci.upper_bound);
                w.close("confidenceInterval");
            }
            w.close("performanceMetric");
        }
        w.close("performanceMetrics");
        w.close("quantitativeAnalysis");
    }
    properties(w, &card.properties);
    w.close("modelCard");
}

/// `<dependency ref="model"><dependency ref="lib"/>..</dependency>`.
fn dependencies(w: &mut Writer, list: &[Dependency]) {
    if list.is_empty() {
        return;
    }
    w.open("dependencies", &[]);
    for d in list {
        if d.depends_on.is_empty() {
            w.empty("dependency", &[("ref", &d.reference)]);
            continue;
        }
        w.open("dependency", &[("ref", &d.reference)]);
        for on in &d.depends_on {
            w.empty("dependency", &[("ref", on)]);
        }
        w.close("dependency");
    }
    w.close("dependencies");
}

/// `bom:vulnerabilityType`: id, source, ratings, description, affects,
/// properties.
fn vulnerability(w: &mut Writer, v: &Vulnerability) {
    w.open("vulnerability", &[]);
    w.leaf("id", &v.id);
    w.open("source", &[]);
    w.leaf("name", v.source.name);
    w.close("source");
    w.open("ratings", &[]);
    for r in &v.ratings {
        w.open("rating", &[]);
        w.open("source", &[]);
        w.leaf("name", r.source.name);
        w.close("source");
        w.leaf("severity", r.severity);
        w.close("rating");
    }
    w.close("ratings");
    w.leaf("description", &v.description);
    w.open("affects", &[]);
    for a in &v.affects {
        w.open("target", &[]);
        w.leaf("ref", &a.reference);
        w.close("target");
    }
    w.close("affects");
    properties(w, &v.properties);
    w.close("vulnerability");
}

/// Writes indented elements; every text and attribute value is escaped, and
/// characters XML 1.0 cannot carry at all (most C0 controls) become U+FFFD,
/// since card text and GGUF metadata come from untrusted files.
#[derive(Default)]
struct Writer {
    out: String,
    depth: usize,
}

impl Writer {
    fn indent(&mut self) {
        for _ in 0..self.depth {
            self.out.push_str("  ");
        }
    }

    fn start(&mut self, name: &str, attrs: &[(&str, &str)]) {
        self.indent();
        self.out.push('<');
        self.out.push_str(name);
        for (key, value) in attrs {
            self.out.push(' ');
            self.out.push_str(key);
            self.out.push_str("=\"");
            escape(&mut self.out, value, true);
            self.out.push('"');
        }
    }

    fn open(&mut self, name: &str, attrs: &[(&str, &str)]) {
        self.start(name, attrs);
        self.out.push_str(">\n");
        self.depth += 1;
    }

    fn close(&mut self, name: &str) {
        self.depth = self.depth.saturating_sub(1);
        self.indent();
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push_str(">\n");
    }

    fn empty(&mut self, name: &str, attrs: &[(&str, &str)]) {
        self.start(name, attrs);
        self.out.push_str("/>\n");
    }

    fn leaf_with(&mut self, name: &str, attrs: &[(&str, &str)], text: &str) {
        self.start(name, attrs);
        self.out.push('>');
        escape(&mut self.out, text, false);
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push_str(">\n");
    }

    fn leaf(&mut self, name: &str, text: &str) {
        self.leaf_with(name, &[], text);
    }

    fn opt_leaf(&mut self, name: &str, text: Option<&str>) {
        if let Some(text) = text {
            self.leaf(name, text);
        }
    }
}

/// Escapes markup characters; in attributes also quotes and the whitespace a
/// parser would otherwise normalise to spaces. A carriage return is kept as a
/// reference everywhere, since parsers turn a literal one into a newline.
fn escape(out: &mut String, text: &str, attribute: bool) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if attribute => out.push_str("&quot;"),
            '\n' if attribute => out.push_str("&#10;"),
            '\t' if attribute => out.push_str("&#9;"),
            '\r' => out.push_str("&#13;"),
            '\t' | '\n' => out.push(c),
            c if is_xml_char(c) => out.push(c),
            _ => out.push('\u{fffd}'),
        }
    }
}

/// XML 1.0's `Char` production (Rust strings hold no surrogates).
fn is_xml_char(c: char) -> bool {
    matches!(c, '\u{20}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}' | '\u{10000}'..)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn escaped(text: &str, attribute: bool) -> String {
        let mut out = String::new();
        escape(&mut out, text, attribute);
        out
    }

    #[test]
    fn markup_and_forbidden_characters_are_escaped() {
        assert_eq!(
            escaped("a<b & \"c\">\r\n\t", false),
            "a&lt;b &amp; \"c\"&gt;&#13;\n\t"
        );
        assert_eq!(escaped("x=\"1\"\n\ty", true), "x=&quot;1&quot;&#10;&#9;y");
        assert_eq!(
            escaped("nul\0bell\u{7}\u{ffff}", false),
            "nul\u{fffd}bell\u{fffd}\u{fffd}"
        );
        assert_eq!(escaped("ü 😀 \u{fffd}", false), "ü 😀 \u{fffd}");
    }
}
