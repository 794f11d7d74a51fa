#include "orchestrator/retry_policy.h"

#include "forkpool/errors.h"

namespace forkpool::orchestrator {

bool retryable(const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const TaskCancelled&) {
    return false;
  } catch (const PoolClosed&) {
    return false;
  } catch (const PoolBroken&) {
    return false;
  } catch (const MessageTooLarge&) {
    return false;
  } catch (const UnknownTask&) {
    return false;
  } catch (const HandshakeError&) {
    return false;
  } catch (const Error&) {
    return true;
  } catch (...) {
    return false;
  }
}

bool should_retry(int retries_left, bool pool_accepting, const std::exception_ptr& error) {
  return retries_left > 0 && pool_accepting && retryable(error);
}

std::string what_of(const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "unknown error";
  }
}

void set_earlier_attempts(const std::exception_ptr& error, std::vector<std::string> attempts) {
  try {
    std::rethrow_exception(error);
  } catch (Error& e) {
    e.set_earlier_attempts(std::move(attempts));  // the object the exception_ptr holds
  } catch (...) {
  }
}

}  // namespace forkpool::orchestrator
