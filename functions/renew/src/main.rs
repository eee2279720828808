//! The `renew` Lambda function: see `sigil::route` for the routes it serves.

use lambda_http::{Error, run, service_fn};
use sigil::Function;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    sigil::telemetry::init();
    let app = sigil::aws::app_from_env(Function::Renew).await?;
    run(service_fn(|req| sigil::http::lambda::handle(&app, req))).await
}
