// The handler `sam init` writes for Node.js, which also says what event it
// was given so that the test can check the payload format.
export const lambdaHandler = async (event, context) => {
  return {
    statusCode: 200,
    body: JSON.stringify({
      message: 'hello world',
      requestId: context.awsRequestId,
      event: {
        version: event.version ?? null,
        httpMethod: event.httpMethod ?? null,
        path: event.path ?? null,
        resource: event.resource ?? null,
        rawPath: event.rawPath ?? null,
        routeKey: event.routeKey ?? null,
        stage: event.requestContext.stage ?? null,
        contextPath: event.requestContext.path ?? null,
      },
    }),
  };
};
