"""Token settings for the task: an optional Cognito user pool, or an external OIDC issuer.

Either way the API verifies RS256 tokens against a JWKS; HS256 is for local development only
and is never configured in AWS.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import CfnOutput, Duration, RemovalPolicy, Stack
from aws_cdk import aws_cognito as cognito
from constructs import Construct

from infra.stacks.config import StageConfig


@dataclass(frozen=True)
class JwtSettings:
    """The JWT_* environment of the task."""

    jwks_url: str
    issuer: str
    audience: str | None
    cognito_client_id: str | None

    def environment(self) -> dict[str, str]:
        env = {"JWT_JWKS_URL": self.jwks_url, "JWT_ISSUER": self.issuer}
        if self.audience:
            env["JWT_AUDIENCE"] = self.audience
        if self.cognito_client_id:
            env["JWT_COGNITO_CLIENT_ID"] = self.cognito_client_id
        return env


class CognitoAuth(Construct):
    """A user pool and a public (secretless) app client for the web app."""

    def __init__(self, scope: Construct, construct_id: str, config: StageConfig) -> None:
        super().__init__(scope, construct_id)
        self.pool = cognito.UserPool(
            self,
            "Users",
            user_pool_name=config.name_prefix,
            self_sign_up_enabled=False,
            sign_in_aliases=cognito.SignInAliases(email=True),
            auto_verify=cognito.AutoVerifiedAttrs(email=True),
            standard_attributes=cognito.StandardAttributes(
                email=cognito.StandardAttribute(required=True, mutable=True),
                fullname=cognito.StandardAttribute(required=False, mutable=True),
            ),
            password_policy=cognito.PasswordPolicy(min_length=12),
            mfa=cognito.Mfa.OPTIONAL,
            mfa_second_factor=cognito.MfaSecondFactor(sms=False, otp=True),
            account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
            removal_policy=RemovalPolicy.RETAIN if config.retain_data else RemovalPolicy.DESTROY,
        )
        self.client = self.pool.add_client(
            "WebApp",
            generate_secret=False,
            auth_flows=cognito.AuthFlow(user_srp=True),
            prevent_user_existence_errors=True,
            access_token_validity=Duration.hours(1),
            id_token_validity=Duration.hours(1),
        )
        CfnOutput(scope, "UserPoolId", value=self.pool.user_pool_id)
        CfnOutput(scope, "UserPoolClientId", value=self.client.user_pool_client_id)

    def jwt_settings(self) -> JwtSettings:
        region = Stack.of(self).region
        issuer = f"https://cognito-idp.{region}.amazonaws.com/{self.pool.user_pool_id}"
        # Cognito access tokens carry client_id instead of aud; the API checks client_id and
        # token_use when JWT_COGNITO_CLIENT_ID is set, and aud for id tokens.
        return JwtSettings(
            jwks_url=f"{issuer}/.well-known/jwks.json",
            issuer=issuer,
            audience=None,
            cognito_client_id=self.client.user_pool_client_id,
        )


def jwt_settings(scope: Construct, config: StageConfig) -> JwtSettings:
    """Cognito when the stage asks for it, else the issuer named in the stage config."""
    if config.cognito:
        return CognitoAuth(scope, "Auth", config).jwt_settings()
    assert config.jwt_jwks_url and config.jwt_issuer  # checked by load_stage_config
    return JwtSettings(
        jwks_url=config.jwt_jwks_url,
        issuer=config.jwt_issuer,
        audience=config.jwt_audience,
        cognito_client_id=None,
    )
