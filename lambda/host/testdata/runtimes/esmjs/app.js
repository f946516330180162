// An ES module in a .js file: the package is "type": "module".
export const handler = async (event, context) => ({ runtime: 'esm-js', requestId: context.awsRequestId, action: event.action });
