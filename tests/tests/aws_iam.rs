//! The AWS engine's IAM adapter and lease revocation against moto's IAM: revocation
//! removes every attachment and the user, and counts a user deleted out of band as
//! revoked.

use std::collections::BTreeMap;
use std::sync::Arc;

use sigil::aws::iam::AwsIam;
use sigil::aws_engine::clients::EngineClients;
use sigil::aws_engine::iam::{IamApi, NewUser};
use sigil::aws_engine::names::user_name;
use sigil::aws_engine::revoke::{DATA_USER_NAME, IamUserRevoker, KIND_IAM_USER};
use sigil::aws_engine::sts::FakeSts;
use sigil::lease::{Lease, LeaseState, Revoker};

fn lease_for(user: &str) -> Lease {
    Lease {
        id: format!("aws/creds/test/{user}"),
        path: "aws/creds/test".into(),
        kind: KIND_IAM_USER.into(),
        state: LeaseState::Active,
        issued_at: 0,
        expire_at: 60,
        max_expire_at: 600,
        renewable: true,
        token_hash: None,
        data: BTreeMap::from([(DATA_USER_NAME.to_owned(), user.to_owned())]),
        attempts: 0,
        last_error: None,
    }
}

#[tokio::test]
async fn revocation_deletes_a_fully_attached_user_from_moto() {
    let sdk = sigil_tests::sdk().await;
    let client = sigil::aws::iam_client(&sdk, None);
    let iam = Arc::new(AwsIam::new(client.clone()));
    let user = user_name("approle", &"long-role-name-".repeat(7)).unwrap();
    assert!(user.len() <= 64);
    let group = sigil_tests::unique("deployers");
    client
        .create_group()
        .group_name(&group)
        .send()
        .await
        .unwrap();
    let policy = client
        .create_policy()
        .policy_name(sigil_tests::unique("p"))
        .policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListBucket","Resource":"*"}]}"#)
        .send()
        .await
        .unwrap();
    let arn = policy.policy().unwrap().arn().unwrap().to_owned();

    iam.create_user(&NewUser {
        name: user.clone(),
        path: "/sigil/".into(),
        permissions_boundary: None,
        tags: vec![("sigil:lease".into(), "aws/creds/test/x".into())],
    })
    .await
    .unwrap();
    iam.attach_user_policy(&user, &arn).await.unwrap();
    iam.put_user_policy(&user, "inline", r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:GetCallerIdentity","Resource":"*"}]}"#)
        .await
        .unwrap();
    iam.add_user_to_group(&user, &group).await.unwrap();
    let key = iam.create_access_key(&user).await.unwrap();
    assert!(!key.id.is_empty());
    // An operator adds a console login out of band.
    client
        .create_login_profile()
        .user_name(&user)
        .password("Out-of-band-1!")
        .send()
        .await
        .unwrap();

    let revoker = IamUserRevoker::new(Arc::new(EngineClients::fixed(
        iam.clone(),
        Arc::new(FakeSts::new(0)),
    )));
    revoker.revoke(&lease_for(&user)).await.unwrap();
    let gone = client.get_user().user_name(&user).send().await;
    assert!(gone.is_err(), "the user no longer exists in IAM");
    // Again, and for a user deleted out of band: already gone counts as revoked.
    revoker.revoke(&lease_for(&user)).await.unwrap();
    revoker
        .revoke(&lease_for("never-existed-user"))
        .await
        .unwrap();
}
