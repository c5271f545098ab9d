//! The admin endpoints: list and revoke keys, reload the config. Each is
//! Cedar action `admin` on resource `Gateway::"gateway"`, and refused unless
//! policies exist that permit it: "any valid key may call anything" (no
//! `[authorization]`) never extends to administering the gateway.

use crate::authz::Query;
use crate::protocol::Protocol;
use crate::server::{
    authenticate_request, json_response, refuse, Gateway, GatewayBody, Settings, Trace,
};
use http::{Method, Request, Response, StatusCode};
use hyper::body::Incoming;
use std::sync::Arc;

pub(crate) async fn handle(
    gw: &Arc<Gateway>,
    settings: &Arc<Settings>,
    req: Request<Incoming>,
    mut trace: Trace,
) -> (Response<GatewayBody>, Trace) {
    let protocol = Protocol::Json;
    trace.route = "admin".into();
    trace.record.route = Some("admin".into());
    trace.record.operation = Some("admin".into());
    let principal = match authenticate_request(gw, settings, &req, protocol).await {
        Ok(p) => p,
        Err(r) => return (r, trace),
    };
    trace.record.principal = Some(principal.id.clone());
    trace.record.owner = Some(principal.owner.clone());

    let Some(policies) = &settings.config.authorization else {
        return (
            refuse(
                protocol,
                StatusCode::FORBIDDEN,
                "admin endpoints need [authorization] policies that permit Action::\"admin\"",
            ),
            trace,
        );
    };
    let query = Query {
        key_id: &principal.id,
        owner: &principal.owner,
        tier: principal.tier.as_deref().unwrap_or(""),
        groups: &principal.groups,
        action: "admin",
        model: "gateway",
        route: "admin",
        protocol: "admin",
        sensitivity: "high",
        client: &trace.record.client,
        stream: false,
    };
    match policies.decide(&query) {
        Ok(v) if v.allowed => trace.record.policies = v.policies,
        Ok(v) => {
            let message = match v.policies.first() {
                Some(p) => format!("forbidden by policy `{p}`"),
                None => "no policy permits `admin`".to_string(),
            };
            trace.record.policies = v.policies;
            gw.metrics
                .authz_denials
                .get_or_create(&vec![("route", "admin".to_string())])
                .inc();
            return (refuse(protocol, StatusCode::FORBIDDEN, &message), trace);
        }
        Err(e) => {
            tracing::error!("authorization failed, admin request denied: {e}");
            let r = refuse(
                protocol,
                StatusCode::FORBIDDEN,
                "authorization could not be decided",
            );
            return (r, trace);
        }
    }

    let path = req.uri().path().to_string();
    let response = match (req.method(), path.trim_end_matches('/')) {
        (&Method::GET, "/admin/keys") => list_keys(gw),
        (&Method::POST, "/admin/reload") => match gw.reload(&settings.config.source) {
            Ok(()) => {
                ok(serde_json::json!({"reloaded": settings.config.source.display().to_string()}))
            }
            Err(e) => refuse(
                protocol,
                StatusCode::UNPROCESSABLE_ENTITY,
                &format!("config not reloaded: {e}"),
            ),
        },
        (&Method::POST, p) => match p
            .strip_prefix("/admin/keys/")
            .and_then(|r| r.strip_suffix("/revoke"))
        {
            Some(id) if !id.contains('/') => revoke(gw, id).await,
            _ => not_found(&path),
        },
        _ => not_found(&path),
    };
    (response, trace)
}

fn ok(body: serde_json::Value) -> Response<GatewayBody> {
    json_response(StatusCode::OK, body.to_string().into())
}

fn not_found(path: &str) -> Response<GatewayBody> {
    refuse(
        Protocol::Json,
        StatusCode::NOT_FOUND,
        &format!(
            "no admin endpoint {}; there are GET /admin/keys, POST /admin/keys/ID/revoke and POST /admin/reload",
            path.chars().take(200).collect::<String>()
        ),
    )
}

/// The keys without their salts and hashes.
fn list_keys(gw: &Gateway) -> Response<GatewayBody> {
    let path = gw.settings().config.keys_file.clone();
    match crate::keys::read_file(&path) {
        Ok(file) => {
            let keys: Vec<serde_json::Value> = file
                .keys
                .iter()
                .map(|k| {
                    serde_json::json!({
                        "id": k.id, "owner": k.owner, "tier": k.tier, "groups": k.groups,
                        "created": k.created, "expires": k.expires, "revoked": k.revoked,
                    })
                })
                .collect();
            ok(serde_json::json!({ "keys": keys }))
        }
        Err(e) => refuse(
            Protocol::Json,
            StatusCode::INTERNAL_SERVER_ERROR,
            &e.to_string(),
        ),
    }
}

async fn revoke(gw: &Arc<Gateway>, id: &str) -> Response<GatewayBody> {
    let path = gw.settings().config.keys_file.clone();
    let id = id.to_string();
    // Blocking: the store's lock may be held by another writer.
    let done = tokio::task::spawn_blocking(move || crate::keys::revoke(&path, &id)).await;
    match done {
        Ok(Ok(record)) => {
            // Refused from the next request on, not within the second.
            gw.refresh_keys();
            ok(serde_json::json!({"id": record.id, "revoked": record.revoked}))
        }
        Ok(Err(crate::keys::KeyError::NoSuchKey(id))) => refuse(
            Protocol::Json,
            StatusCode::NOT_FOUND,
            &format!("no key `{id}`"),
        ),
        Ok(Err(e)) => refuse(
            Protocol::Json,
            StatusCode::INTERNAL_SERVER_ERROR,
            &e.to_string(),
        ),
        Err(e) => refuse(
            Protocol::Json,
            StatusCode::INTERNAL_SERVER_ERROR,
            &e.to_string(),
        ),
    }
}
