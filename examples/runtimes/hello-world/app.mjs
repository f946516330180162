// The handler `sam init` writes for Node.js (hello-world template).
export const lambdaHandler = async (event, context) => {
  return {
    statusCode: 200,
    body: JSON.stringify({
      message: 'hello world',
      requestId: context.awsRequestId,
    }),
  };
};
