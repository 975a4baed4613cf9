//! Who may use which route. The route table ([`super::routes`]) puts every route of the
//! dashboard and of the API in a group and wraps the group in one of these guards, so no handler
//! checks a role or a scope itself: a handler's [`CurrentUser`] or [`Caller`] is the principal its
//! guard admitted.
//!
//! Refusals answer exactly what the handlers used to: the dashboard redirects to the login (or
//! the two-factor step) and shows the Forbidden page to a viewer; the API answers 401 JSON
//! without a valid token and 403 JSON naming the missing scope.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{AppService, HttpServiceFactory, ResourceDef, ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::guard::{Guard, GuardContext};
use actix_web::http::Method;
use actix_web::middleware::{Next, from_fn};
use actix_web::{FromRequest, Handler, HttpMessage, Responder, Route, web};
use utoipa::openapi::path::{HttpMethod, Paths};
use utoipa::openapi::{RefOr, schema::Schema};
use utoipa_actix_web::OpenApiFactory;

use entity::membership::Role;

use super::api::Caller;
use super::error::{ApiError, PageError};
use super::session::CurrentUser;
use crate::domain::DomainError;
use crate::domain::roles::{RoleRules, Scope};

/// What a group of dashboard routes asks of the signed-in member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Member {
    /// Any member of the account, viewers included (reading, and one's own login settings).
    SignedIn,
    /// Admins and owners: every change to the account's configuration.
    Writer,
    /// Owners only: account-wide security rules.
    Owner,
}

impl Member {
    /// Whether `role` may use the group.
    ///
    /// # Errors
    /// [`DomainError::Forbidden`] saying who may.
    pub fn admits(self, role: Role) -> Result<(), DomainError> {
        match self {
            Member::SignedIn => Ok(()),
            Member::Writer => role.require_write(),
            Member::Owner if role == Role::Owner => Ok(()),
            Member::Owner => Err(DomainError::Forbidden(
                "Only owners can change this setting; ask an owner.".into(),
            )),
        }
    }
}

/// Middleware of a dashboard group: resolves the session, checks the member against `need` and
/// leaves the [`CurrentUser`] in the request for the handler. A refusal is answered here as the
/// handler's own [`PageError`] would have been.
///
/// # Errors
/// Whatever the handler returns.
pub async fn member(
    need: Member,
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let admitted = match CurrentUser::resolve(req.request()).await {
        Ok(user) => need.admits(user.role).map(|()| user).map_err(PageError::from),
        Err(e) => Err(e),
    };
    admit(admitted, req, next).await
}

/// Middleware of an API group: authenticates the bearer token, refuses it without `scope`, and
/// leaves the [`Caller`] in the request for the handler. Runs before the body is read, so a
/// token without the scope is refused without parsing what it sent.
///
/// # Errors
/// Whatever the handler returns.
pub async fn token_scope(
    scope: Scope,
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let admitted = match Caller::authenticate(req.request()).await {
        Ok(caller) if caller.scopes.has(scope) => Ok(caller),
        Ok(_) => Err(ApiError::from(DomainError::Forbidden(format!(
            "This token lacks the \"{}\" scope.",
            scope.as_str()
        )))),
        Err(e) => Err(e),
    };
    admit(admitted, req, next).await
}

/// The end of both guards: an admitted principal goes into the request for the handler's
/// extractor and the request goes on; a refusal is answered at once.
async fn admit<T: 'static, E: actix_web::ResponseError + 'static>(
    admitted: Result<T, E>,
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    match admitted {
        Ok(principal) => {
            req.extensions_mut().insert(principal);
            Ok(next.call(req).await?.map_into_boxed_body())
        }
        Err(e) => Ok(req.error_response(e).map_into_boxed_body()),
    }
}

/// Routing guard of an API group: admits a request whose method and path are one of the group's
/// operations, so the groups can share the `/api/v1` prefix (actix does not fall through from
/// one matched scope to its sibling) and a request reaches only its own group's middleware.
#[derive(Default)]
pub struct Operations(Vec<(Method, ResourceDef)>);

impl Operations {
    /// Adds the operation `method` on `path` (a full path pattern, e.g. `/api/v1/webhooks/{id}`).
    pub fn add(&mut self, method: Method, path: &str) {
        self.0.push((method, ResourceDef::new(path)));
    }
}

impl Guard for Operations {
    fn check(&self, ctx: &GuardContext<'_>) -> bool {
        let head = ctx.head();
        self.0
            .iter()
            .any(|(method, path)| *method == head.method && path.is_match(head.uri.path()))
    }
}

/// Dashboard routes that all ask the same of the member: each is registered with [`member`]
/// around its handler.
pub struct MemberGroup<'c> {
    cfg: &'c mut web::ServiceConfig,
    need: Member,
}

impl<'c> MemberGroup<'c> {
    /// Starts a group registered into `cfg`, admitting members that `need` admits.
    pub fn new(cfg: &'c mut web::ServiceConfig, need: Member) -> Self {
        Self { cfg, need }
    }

    /// `GET path` answered by `handler`.
    pub fn get<F, Args>(self, path: &str, handler: F) -> Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.route(path, web::get().to(handler))
    }

    /// `POST path` answered by `handler`.
    pub fn post<F, Args>(self, path: &str, handler: F) -> Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.route(path, web::post().to(handler))
    }

    fn route(self, path: &str, route: Route) -> Self {
        let need = self.need;
        self.cfg
            .route(path, route.wrap(from_fn(move |req, next| member(need, req, next))));
        self
    }
}

/// A group of API operations that all need one token scope: registered under the API's prefix
/// beside the other groups, entered only by requests for its own operations ([`Operations`]),
/// and wrapped in [`token_scope`]. Documented like any utoipa service.
pub struct TokenGroup<T> {
    prefix: &'static str,
    need: Scope,
    operations: Operations,
    routes: utoipa_actix_web::scope::Scope<T>,
}

impl TokenGroup<()> {
    /// An empty group under `prefix` (the scope the group is registered in) needing `need`.
    #[must_use]
    pub fn new(
        prefix: &'static str,
        need: Scope,
    ) -> TokenGroup<
        impl ServiceFactory<
            ServiceRequest,
            Config = (),
            Response = ServiceResponse,
            Error = actix_web::Error,
            InitError = (),
        >,
    > {
        TokenGroup {
            prefix,
            need,
            operations: Operations::default(),
            routes: actix_web::web::scope("").into(),
        }
    }
}

impl<T> TokenGroup<T>
where
    T: ServiceFactory<
            ServiceRequest,
            Config = (),
            Response = ServiceResponse,
            Error = actix_web::Error,
            InitError = (),
        >,
{
    /// Adds an operation (a handler with `#[utoipa::path]` and an actix method attribute).
    #[must_use]
    pub fn op<S>(mut self, operation: S) -> Self
    where
        S: HttpServiceFactory + OpenApiFactory + utoipa::Path + 'static,
    {
        let path = format!("{}{}", self.prefix, S::path());
        for method in S::methods() {
            self.operations.add(http_method(&method), &path);
        }
        Self {
            routes: self.routes.service(operation),
            ..self
        }
    }
}

/// The actix method of an OpenAPI one.
fn http_method(method: &HttpMethod) -> Method {
    match method {
        HttpMethod::Get => Method::GET,
        HttpMethod::Post => Method::POST,
        HttpMethod::Put => Method::PUT,
        HttpMethod::Delete => Method::DELETE,
        HttpMethod::Options => Method::OPTIONS,
        HttpMethod::Head => Method::HEAD,
        HttpMethod::Patch => Method::PATCH,
        HttpMethod::Trace => Method::TRACE,
    }
}

impl<T> OpenApiFactory for TokenGroup<T> {
    fn paths(&self) -> Paths {
        self.routes.paths()
    }

    fn schemas(&self, schemas: &mut Vec<(String, RefOr<Schema>)>) {
        self.routes.schemas(schemas);
    }
}

impl<T> HttpServiceFactory for TokenGroup<T>
where
    T: ServiceFactory<
            ServiceRequest,
            Config = (),
            Response = ServiceResponse,
            Error = actix_web::Error,
            InitError = (),
        > + 'static,
{
    fn register(self, config: &mut AppService) {
        let need = self.need;
        self.routes
            .guard(self.operations)
            .wrap(from_fn(move |req, next| token_scope(need, req, next)))
            .register(config);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn viewers_read_admins_write_and_owners_own() {
        for role in [Role::Viewer, Role::Admin, Role::Owner] {
            assert!(Member::SignedIn.admits(role).is_ok());
        }
        assert!(Member::Writer.admits(Role::Viewer).is_err());
        assert!(Member::Writer.admits(Role::Admin).is_ok());
        assert!(Member::Owner.admits(Role::Admin).is_err());
        assert!(Member::Owner.admits(Role::Owner).is_ok());
    }

    /// The guards are the one place a route's role or scope is checked: a handler repeating the
    /// check would drift from the route table.
    #[test]
    fn no_handler_checks_a_role_or_a_scope_itself() {
        fn visit(dir: &std::path::Path, offenders: &mut Vec<String>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    visit(&path, offenders);
                } else if path.file_name().is_some_and(|n| n != "access.rs") {
                    let text = std::fs::read_to_string(&path).unwrap();
                    if text.contains("require_write()?") || text.contains("scopes.has(") {
                        offenders.push(path.display().to_string());
                    }
                }
            }
        }
        let mut offenders = Vec::new();
        visit(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/web"),
            &mut offenders,
        );
        assert!(offenders.is_empty(), "checks outside the route guards: {offenders:?}");
    }
}
