# Drives Debian's python3-kubernetes against a bramble server for tests/python-client.test.ts.
# Run with /usr/bin/python3: python-client.py KUBECONFIG ACTION ARGS...
#   version                          VersionApi().get_code() as JSON
#   watch NS SELECTOR STOP_NAME      one line per ConfigMap event ("ADDED a {data}"), until STOP_NAME is DELETED
#   exec NS POD CONTAINER CMD...     {"stdout", "stderr", "returncode"} as JSON
#   logs NS POD CONTAINER            follow=True: the log as it is written, line by line
# Output is flushed as it happens, so the test sees streamed events and lines while they arrive.
import json
import sys

from kubernetes import client, config, watch
from kubernetes.stream import stream

kubeconfig, action, args = sys.argv[1], sys.argv[2], sys.argv[3:]
config.load_kube_config(config_file=kubeconfig)
core = client.CoreV1Api()


def out(line):
    print(line, flush=True)


if action == "version":
    out(json.dumps(client.VersionApi().get_code().to_dict()))

elif action == "watch":
    namespace, selector, stop_name = args
    w = watch.Watch()
    for event in w.stream(core.list_namespaced_config_map, namespace=namespace, label_selector=selector, timeout_seconds=120):
        name = event["object"].metadata.name
        out("%s %s %s" % (event["type"], name, json.dumps(event["object"].data or {}, sort_keys=True)))
        if event["type"] == "DELETED" and name == stop_name:
            w.stop()

elif action == "exec":
    namespace, pod, container, command = args[0], args[1], args[2], args[3:]
    resp = stream(core.connect_get_namespaced_pod_exec, pod, namespace, container=container, command=command,
                  stdout=True, stderr=True, stdin=False, tty=False, _preload_content=False)
    resp.run_forever(timeout=60)
    out(json.dumps({"stdout": resp.read_stdout(), "stderr": resp.read_stderr(), "returncode": resp.returncode}))

elif action == "logs":
    namespace, pod, container = args
    body = core.read_namespaced_pod_log(pod, namespace, container=container, follow=True, _preload_content=False)
    for line in body.stream(amt=1):
        sys.stdout.write(line.decode())
        sys.stdout.flush()

else:
    sys.exit("unknown action %s" % action)
