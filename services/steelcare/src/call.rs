//! `steelcare call`: one gRPC call from the command line, JSON in and JSON out (the proto3 JSON
//! mapping, as grpcurl prints it), described by the contracts compiled into the binary. It is
//! what the README's walk and `deploy/local/walk.sh` use, so following them needs nothing that
//! is not a package; grpcurl takes the same arguments where it is installed.

use std::str::FromStr;

use http::uri::PathAndQuery;
use prost::Message;
use prost_reflect::{DescriptorPool, DynamicMessage, MessageDescriptor, MethodDescriptor};
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::transport::Endpoint;
use tonic::{Code, Status};
use tonic_types::StatusExt;

/// What to call.
#[derive(Debug, Clone)]
pub struct CallOptions {
    /// The server, `host:port`.
    pub addr: String,
    /// Bearer token, when the method needs one.
    pub token: Option<String>,
    /// `package.Service/Method` (or `package.Service.Method`).
    pub method: String,
    /// The request as JSON; `{}` when empty.
    pub data: String,
}

/// Encodes and decodes messages of one method, whatever their type.
struct DynamicCodec(MessageDescriptor);

struct DynamicEncoder;

struct DynamicDecoder(MessageDescriptor);

impl Codec for DynamicCodec {
    type Encode = DynamicMessage;
    type Decode = DynamicMessage;
    type Encoder = DynamicEncoder;
    type Decoder = DynamicDecoder;

    fn encoder(&mut self) -> DynamicEncoder {
        DynamicEncoder
    }

    fn decoder(&mut self) -> DynamicDecoder {
        DynamicDecoder(self.0.clone())
    }
}

impl Encoder for DynamicEncoder {
    type Item = DynamicMessage;
    type Error = Status;

    fn encode(&mut self, item: DynamicMessage, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        item.encode(dst)
            .map_err(|err| Status::internal(format!("encoding the request: {err}")))
    }
}

impl Decoder for DynamicDecoder {
    type Item = DynamicMessage;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<DynamicMessage>, Status> {
        DynamicMessage::decode(self.0.clone(), src)
            .map(Some)
            .map_err(|err| Status::internal(format!("decoding the response: {err}")))
    }
}

/// The method `name` names in the contracts.
fn method(name: &str) -> Result<MethodDescriptor, String> {
    let mut pool = DescriptorPool::decode(steelcare_proto::FILE_DESCRIPTOR_SET)
        .map_err(|err| format!("the contracts compiled in are unreadable: {err}"))?;
    pool.decode_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .map_err(|err| format!("the health contract compiled in is unreadable: {err}"))?;
    let (service, method) = name
        .rsplit_once('/')
        .or_else(|| name.rsplit_once('.'))
        .ok_or_else(|| format!("{name}: give package.Service/Method"))?;
    let found = pool
        .get_service_by_name(service)
        .ok_or_else(|| format!("{service}: no such service in the contracts"))?;
    found
        .methods()
        .find(|m| m.name() == method)
        .ok_or_else(|| format!("{service} has no method {method}"))
}

/// One response message as pretty JSON (camelCase names, defaults left out, as grpcurl).
fn json(message: &DynamicMessage) -> Result<String, String> {
    let mut out = Vec::new();
    let mut serializer = serde_json::Serializer::pretty(&mut out);
    message
        .serialize_with_options(&mut serializer, &prost_reflect::SerializeOptions::new())
        .map_err(|err| format!("rendering the response: {err}"))?;
    String::from_utf8(out).map_err(|err| err.to_string())
}

/// A refusal as grpcurl shows one, with the field violations and the current state.
fn refusal(status: &Status) -> String {
    let mut text = format!(
        "ERROR:\n  Code: {:?}\n  Message: {}",
        status.code(),
        status.message()
    );
    if let Some(localized) = status.get_details_localized_message() {
        text.push_str(&format!(
            "\n  Localized ({}): {}",
            localized.locale, localized.message
        ));
    }
    if let Some(bad) = status.get_details_bad_request() {
        for v in bad.field_violations {
            let said = v.localized_message.map(|l| l.message).unwrap_or_default();
            text.push_str(&format!(
                "\n  Field {}: {} ({said})",
                v.field, v.description
            ));
        }
    }
    if let Some(info) = status.get_details_error_info() {
        text.push_str(&format!("\n  Reason: {}", info.reason));
        if let Some(state) = info.metadata.get("current_state") {
            text.push_str(&format!("\n  Current state: {state}"));
        }
    }
    text
}

/// Makes the call and prints each response message to stdout; a refusal is the error.
pub async fn call(o: CallOptions) -> Result<(), String> {
    let method = method(&o.method)?;
    if method.is_client_streaming() {
        return Err(format!("{}: client streaming is not supported", o.method));
    }
    let data = if o.data.trim().is_empty() {
        "{}"
    } else {
        &o.data
    };
    let mut de = serde_json::Deserializer::from_str(data);
    let request = DynamicMessage::deserialize(method.input(), &mut de)
        .and_then(|m| de.end().map(|()| m))
        .map_err(|err| format!("the request is not a {}: {err}", method.input().name()))?;
    let channel = Endpoint::from_shared(format!("http://{}", o.addr))
        .map_err(|err| format!("{}: {err}", o.addr))?
        .connect()
        .await
        .map_err(|err| format!("{}: cannot connect: {err}", o.addr))?;
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready()
        .await
        .map_err(|err| format!("{}: not ready: {err}", o.addr))?;
    let path = PathAndQuery::from_str(&format!(
        "/{}/{}",
        method.parent_service().full_name(),
        method.name()
    ))
    .map_err(|err| err.to_string())?;
    let mut req = tonic::Request::new(request);
    if let Some(token) = o.token.as_deref().filter(|t| !t.is_empty()) {
        let value = format!("Bearer {token}")
            .parse()
            .map_err(|_| "the token is not a valid header value".to_owned())?;
        req.metadata_mut().insert("authorization", value);
    }
    let codec = DynamicCodec(method.output());
    if method.is_server_streaming() {
        let mut stream = grpc
            .server_streaming(req, path, codec)
            .await
            .map_err(|s| refusal(&s))?
            .into_inner();
        loop {
            match stream.message().await {
                Ok(Some(message)) => println!("{}", json(&message)?),
                Ok(None) => return Ok(()),
                Err(status) if status.code() == Code::Ok => return Ok(()),
                Err(status) => return Err(refusal(&status)),
            }
        }
    }
    let response = grpc
        .unary(req, path, codec)
        .await
        .map_err(|s| refusal(&s))?;
    println!("{}", json(response.get_ref())?);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_are_found_by_either_spelling_and_unknown_ones_are_named() {
        let m = method("steelcare.intake.v1.IntakeService/CreateTicket").unwrap();
        assert_eq!(m.input().name(), "CreateTicketRequest");
        assert!(method("steelcare.intake.v1.IntakeService.GetTicket").is_ok());
        assert!(method("grpc.health.v1.Health/Check").is_ok());
        let err = method("steelcare.intake.v1.Nope/CreateTicket").unwrap_err();
        assert!(err.contains("no such service"), "{err}");
        let err = method("steelcare.intake.v1.IntakeService/Nope").unwrap_err();
        assert!(err.contains("no method Nope"), "{err}");
    }
}
