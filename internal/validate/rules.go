package validate

// Rules name where a check comes from. Spec rules are FILE#ANCHOR of the
// OCI runtime specification (github.com/opencontainers/runtime-spec, v1.3.0),
// using the <a name> anchors the spec itself defines.
const (
	ruleJSON          = "RFC 8259"
	ruleBundle        = "bundle.md#containerFormat01"
	ruleConfig        = "config.md#configuration"
	ruleVersion       = "config.md#configSpecificationVersion"
	ruleRoot          = "config.md#configRoot"
	ruleMounts        = "config.md#configMounts"
	ruleMountOptions  = "config.md#configLinuxMountOptions"
	rulePOSIXMounts   = "config.md#configPOSIXMounts"
	ruleProcess       = "config.md#configProcess"
	rulePOSIXProcess  = "config.md#configPOSIXProcess"
	ruleLinuxProcess  = "config.md#configLinuxProcess"
	rulePOSIXUser     = "config.md#configPOSIXUser"
	ruleHostname      = "config.md#configHostname"
	ruleDomainname    = "config.md#configDomainname"
	rulePlatform      = "config.md#configPlatformSpecificConfiguration"
	ruleHooks         = "config.md#configHooks"
	ruleAnnotations   = "config.md#configAnnotations"
	ruleExtensibility = "config.md#configExtensibility"

	ruleLinux         = "config-linux.md#linuxContainerConfiguration"
	ruleNamespaces    = "config-linux.md#configLinuxNamespaces"
	ruleIDMappings    = "config-linux.md#configLinuxUserNamespaceMappings"
	ruleTimeOffset    = "config-linux.md#configLinuxTimeOffset"
	ruleDevices       = "config-linux.md#configLinuxDevices"
	ruleNetDevices    = "config-linux.md#configLinuxNetworkDevices"
	ruleCgroups       = "config-linux.md#configLinuxControlGroups"
	ruleCgroupsPath   = "config-linux.md#configLinuxCgroupsPath"
	ruleDeviceAllow   = "config-linux.md#configLinuxDeviceAllowedlist"
	ruleMemory        = "config-linux.md#configLinuxMemory"
	ruleCPU           = "config-linux.md#configLinuxCPU"
	ruleBlockIO       = "config-linux.md#configLinuxBlockIO"
	ruleHugepages     = "config-linux.md#configLinuxHugePageLimits"
	ruleNetwork       = "config-linux.md#configLinuxNetwork"
	rulePids          = "config-linux.md#configLinuxPIDS"
	ruleRDMA          = "config-linux.md#configLinuxRDMA"
	ruleUnified       = "config-linux.md#configLinuxUnified"
	ruleIntelRdt      = "config-linux.md#configLinuxIntelRdt"
	ruleMemoryPolicy  = "config-linux.md#configLinuxMemoryPolicy"
	ruleSysctl        = "config-linux.md#configLinuxSysctl"
	ruleSeccomp       = "config-linux.md#configLinuxSeccomp"
	rulePropagation   = "config-linux.md#configLinuxRootfsMountPropagation"
	ruleMaskedPaths   = "config-linux.md#configLinuxMaskedPaths"
	ruleReadonlyPaths = "config-linux.md#configLinuxReadonlyPaths"
	ruleMountLabel    = "config-linux.md#configLinuxMountLabel"
	rulePersonality   = "config-linux.md#configLinuxPersonality"
	ruleRuntimeErrors = "runtime.md#runtimeErrors"
	ruleExecve        = "execve(2)"
)

// pathRules maps a field (and everything below it) to its spec section; the
// longest matching prefix wins.
var pathRules = []struct{ prefix, rule string }{
	{"ociVersion", ruleVersion},
	{"root", ruleRoot},
	{"mounts", ruleMounts},
	{"process", ruleProcess},
	{"process.rlimits", rulePOSIXProcess},
	{"process.capabilities", ruleLinuxProcess},
	{"process.noNewPrivileges", ruleLinuxProcess},
	{"process.apparmorProfile", ruleLinuxProcess},
	{"process.oomScoreAdj", ruleLinuxProcess},
	{"process.scheduler", ruleLinuxProcess},
	{"process.selinuxLabel", ruleLinuxProcess},
	{"process.ioPriority", ruleLinuxProcess},
	{"process.execCPUAffinity", ruleLinuxProcess},
	{"process.user", rulePOSIXUser},
	{"hostname", ruleHostname},
	{"domainname", ruleDomainname},
	{"hooks", ruleHooks},
	{"annotations", ruleAnnotations},
	{"linux", ruleLinux},
	{"solaris", rulePlatform},
	{"windows", rulePlatform},
	{"vm", rulePlatform},
	{"zos", rulePlatform},
	{"freebsd", rulePlatform},
	{"linux.namespaces", ruleNamespaces},
	{"linux.uidMappings", ruleIDMappings},
	{"linux.gidMappings", ruleIDMappings},
	{"linux.timeOffsets", ruleTimeOffset},
	{"linux.devices", ruleDevices},
	{"linux.netDevices", ruleNetDevices},
	{"linux.resources", ruleCgroups},
	{"linux.cgroupsPath", ruleCgroupsPath},
	{"linux.resources.devices", ruleDeviceAllow},
	{"linux.resources.memory", ruleMemory},
	{"linux.resources.cpu", ruleCPU},
	{"linux.resources.blockIO", ruleBlockIO},
	{"linux.resources.hugepageLimits", ruleHugepages},
	{"linux.resources.network", ruleNetwork},
	{"linux.resources.pids", rulePids},
	{"linux.resources.rdma", ruleRDMA},
	{"linux.resources.unified", ruleUnified},
	{"linux.intelRdt", ruleIntelRdt},
	{"linux.memoryPolicy", ruleMemoryPolicy},
	{"linux.sysctl", ruleSysctl},
	{"linux.seccomp", ruleSeccomp},
	{"linux.rootfsPropagation", rulePropagation},
	{"linux.maskedPaths", ruleMaskedPaths},
	{"linux.readonlyPaths", ruleReadonlyPaths},
	{"linux.mountLabel", ruleMountLabel},
	{"linux.personality", rulePersonality},
}

// ruleFor returns the spec section that defines the field at path.
func ruleFor(path string) string {
	best, bestLen := ruleConfig, -1
	for _, pr := range pathRules {
		if within(path, pr.prefix) && len(pr.prefix) > bestLen {
			best, bestLen = pr.rule, len(pr.prefix)
		}
	}
	return best
}
