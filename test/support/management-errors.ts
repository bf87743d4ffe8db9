// The ManagementApiError a request must fail with (anything else, or success, fails the test).
import { ManagementApiError } from "../../operator/rabbitmq/management.js";

export async function managementFailure(promise: Promise<unknown>): Promise<ManagementApiError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ManagementApiError) return error;
    throw error;
  }
  throw new Error("expected the request to fail");
}
