"""Checks the SteelCare pods of rendered manifests against the Pod Security Standard
"restricted" (https://kubernetes.io/docs/concepts/security/pod-security-standards/): non-root,
no privilege escalation, every capability dropped (none added but NET_BIND_SERVICE), a
RuntimeDefault or Localhost seccomp profile, no host namespaces, ports or paths, no privileged
containers, only the allowed volume types. Usage: python pss_restricted.py FILE..."""
import sys

import yaml

ALLOWED_VOLUMES = {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral",
                   "persistentVolumeClaim", "projected", "secret"}


def check_pod(where, pod):
    problems = []
    psc = pod.get("securityContext") or {}
    for key in ("hostNetwork", "hostPID", "hostIPC"):
        if pod.get(key):
            problems.append(f"{key} is set")
    for volume in pod.get("volumes") or []:
        kinds = set(volume) - {"name"}
        if not kinds <= ALLOWED_VOLUMES:
            problems.append(f"volume {volume['name']} is {sorted(kinds)}")
    containers = (pod.get("initContainers") or []) + (pod.get("containers") or [])
    for c in containers:
        sc = c.get("securityContext") or {}
        name = c["name"]
        if sc.get("privileged"):
            problems.append(f"{name}: privileged")
        if sc.get("allowPrivilegeEscalation") is not False:
            problems.append(f"{name}: allowPrivilegeEscalation is not false")
        caps = sc.get("capabilities") or {}
        if "ALL" not in (caps.get("drop") or []):
            problems.append(f"{name}: capabilities.drop lacks ALL")
        if set(caps.get("add") or []) - {"NET_BIND_SERVICE"}:
            problems.append(f"{name}: adds capabilities {caps['add']}")
        if not (sc.get("runAsNonRoot") or psc.get("runAsNonRoot")):
            problems.append(f"{name}: runAsNonRoot is not set")
        if (sc.get("runAsUser", psc.get("runAsUser")) == 0):
            problems.append(f"{name}: runs as uid 0")
        seccomp = (sc.get("seccompProfile") or psc.get("seccompProfile") or {}).get("type")
        if seccomp not in ("RuntimeDefault", "Localhost"):
            problems.append(f"{name}: seccompProfile is {seccomp!r}")
        for port in c.get("ports") or []:
            if port.get("hostPort"):
                problems.append(f"{name}: hostPort {port['hostPort']}")
    return [f"{where}: {p}" for p in problems]


def main(files):
    problems, pods = [], 0
    for path in files:
        with open(path, encoding="utf-8") as f:
            for doc in yaml.safe_load_all(f):
                if not doc or doc.get("kind") not in ("Deployment", "StatefulSet", "Job"):
                    continue
                labels = (doc["spec"]["template"].get("metadata") or {}).get("labels") or {}
                if labels.get("app.kubernetes.io/name") != "steelcare":
                    continue
                pods += 1
                problems += check_pod(f"{path}: {doc['kind']}/{doc['metadata']['name']}",
                                      doc["spec"]["template"]["spec"])
    for p in problems:
        print(p, file=sys.stderr)
    print(f"{pods} SteelCare pod templates checked against PSS restricted, "
          f"{len(problems)} problems")
    return 1 if problems or pods == 0 else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
