# Attaches Debian's python3-kubernetes to a running container for tests/attach.test.ts (v4.channel.k8s.io).
# Run with /usr/bin/python3: python-attach.py KUBECONFIG NS POD CONTAINER INPUT
# Sends INPUT on stdin, reads until the session ends (the process exited), and prints
# {"stdout", "stderr", "error"} as JSON; "error" is what the server put on the error channel.
import json
import sys

from kubernetes import client, config
from kubernetes.stream import stream
from kubernetes.stream.ws_client import ERROR_CHANNEL

kubeconfig, namespace, pod, container, text = sys.argv[1:6]
config.load_kube_config(config_file=kubeconfig)
core = client.CoreV1Api()

resp = stream(core.connect_get_namespaced_pod_attach, pod, namespace, container=container,
              stdin=True, stdout=True, stderr=True, tty=False, _preload_content=False)
resp.write_stdin(text)
resp.run_forever(timeout=60)
print(json.dumps({"stdout": resp.read_stdout(), "stderr": resp.read_stderr(), "error": resp.read_channel(ERROR_CHANNEL)}), flush=True)
