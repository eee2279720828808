//! The `sweeper` Lambda function: runs on an EventBridge schedule, removes what expired.
//! It accepts any event (a schedule rule delivers a `Scheduled Event` JSON object) and
//! returns the run's report.

use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    sigil::telemetry::init();
    let app = sigil::aws::app_from_env(sigil::Function::Sweeper).await?;
    run(service_fn(|_event: LambdaEvent<Value>| async {
        let report =
            sigil::sweeper::sweep(app.store.as_ref(), &app.revokers, app.clock.now()).await?;
        Ok::<_, Error>(serde_json::to_value(report)?)
    }))
    .await
}
