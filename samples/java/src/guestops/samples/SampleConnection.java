package guestops.samples;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.reflect.Method;
import java.net.HttpURLConnection;
import java.net.URI;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Map;
import javax.net.ssl.HttpsURLConnection;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;
import javax.xml.namespace.QName;
import javax.xml.ws.BindingProvider;
import vim25.DynamicProperty;
import vim25.GuestFileAttributes;
import vim25.ManagedObjectReference;
import vim25.NamePasswordAuthentication;
import vim25.ObjectContent;
import vim25.ObjectSpec;
import vim25.PropertyFilterSpec;
import vim25.PropertySpec;
import vim25.RetrieveOptions;
import vim25.RetrieveResult;
import vim25.ServiceContent;
import vim25.TraversalSpec;
import vim25service.VimPortType;
import vim25service.VimService;

/**
 * What every sample does first, with nothing but the stubs wsimport generated from wsdl/: log in, find the VM by
 * name through a ContainerView, read the guest managers from GuestOperationsManager, and build the guest credentials.
 */
final class SampleConnection implements AutoCloseable {
    final VimPortType port;
    final ServiceContent content;
    final ManagedObjectReference vm;
    final ManagedObjectReference fileManager;
    final ManagedObjectReference processManager;
    final NamePasswordAuthentication auth;
    private final URI endpoint;

    private SampleConnection(SampleOptions options) throws Exception {
        endpoint = URI.create(options.required("url"));
        // Debian's SAAJ registers its factory under the old property name and warns on every call; name it directly.
        System.setProperty("javax.xml.soap.SAAJMetaFactory", "com.sun.xml.messaging.saaj.soap.SAAJMetaFactoryImpl");
        if (options.flag("insecure")) {
            trustEveryCertificate();
        }
        VimService service = new VimService(SampleConnection.class.getResource("/wsdl/vimService.wsdl"), new QName("urn:vim25Service", "VimService"));
        port = service.getVimPort();
        Map<String, Object> context = ((BindingProvider) port).getRequestContext();
        context.put(BindingProvider.ENDPOINT_ADDRESS_PROPERTY, endpoint.toString());
        context.put(BindingProvider.SESSION_MAINTAIN_PROPERTY, true); // keeps the vmware_soap_session cookie

        ManagedObjectReference serviceInstance = new ManagedObjectReference();
        serviceInstance.setType("ServiceInstance");
        serviceInstance.setValue("ServiceInstance");
        content = port.retrieveServiceContent(serviceInstance);
        port.login(content.getSessionManager(), options.required("username"), options.required("password"), null);

        vm = findVm(options.required("vmname"));
        fileManager = (ManagedObjectReference) property(content.getGuestOperationsManager(), "fileManager");
        processManager = (ManagedObjectReference) property(content.getGuestOperationsManager(), "processManager");
        auth = new NamePasswordAuthentication();
        auth.setUsername(options.required("guestusername"));
        auth.setPassword(options.required("guestpassword"));
        auth.setInteractiveSession(false);
    }

    static SampleConnection open(SampleOptions options) throws Exception {
        return new SampleConnection(options);
    }

    /** A fault as one line: the vim fault's type (e.g. InvalidGuestLogin) and the server's message. */
    static String describe(Exception e) {
        try {
            Method getFaultInfo = e.getClass().getMethod("getFaultInfo");
            Object info = getFaultInfo.invoke(e);
            if (info != null) {
                return info.getClass().getSimpleName() + ": " + e.getMessage();
            }
        } catch (ReflectiveOperationException ignored) {
            // not a generated fault exception
        }
        return e.getClass().getSimpleName() + ": " + e.getMessage();
    }

    /** Runs a sample body; a fault or error ends the process with exit code 1 and one line on stderr. */
    static void run(SampleBody body) {
        try {
            System.exit(body.run());
        } catch (Exception e) {
            System.err.println("error: " + describe(e));
            System.exit(1);
        }
    }

    interface SampleBody {
        int run() throws Exception;
    }

    /** One property of one object (RetrievePropertiesEx). */
    Object property(ManagedObjectReference obj, String path) throws Exception {
        PropertySpec propertySpec = new PropertySpec();
        propertySpec.setType(obj.getType());
        propertySpec.getPathSet().add(path);
        ObjectSpec objectSpec = new ObjectSpec();
        objectSpec.setObj(obj);
        PropertyFilterSpec filter = new PropertyFilterSpec();
        filter.getPropSet().add(propertySpec);
        filter.getObjectSet().add(objectSpec);
        RetrieveResult result = port.retrievePropertiesEx(content.getPropertyCollector(), List.of(filter), new RetrieveOptions());
        if (result != null) {
            for (ObjectContent object : result.getObjects()) {
                for (DynamicProperty property : object.getPropSet()) {
                    return property.getVal();
                }
            }
        }
        throw new IllegalStateException(obj.getType() + " " + obj.getValue() + " has no " + path);
    }

    private ManagedObjectReference findVm(String name) throws Exception {
        ManagedObjectReference view = port.createContainerView(content.getViewManager(), content.getRootFolder(), List.of("VirtualMachine"), true);
        try {
            TraversalSpec traversal = new TraversalSpec();
            traversal.setName("traverseEntities");
            traversal.setType("ContainerView");
            traversal.setPath("view");
            traversal.setSkip(false);
            ObjectSpec objectSpec = new ObjectSpec();
            objectSpec.setObj(view);
            objectSpec.setSkip(true);
            objectSpec.getSelectSet().add(traversal);
            PropertySpec propertySpec = new PropertySpec();
            propertySpec.setType("VirtualMachine");
            propertySpec.getPathSet().add("name");
            PropertyFilterSpec filter = new PropertyFilterSpec();
            filter.getPropSet().add(propertySpec);
            filter.getObjectSet().add(objectSpec);
            RetrieveResult result = port.retrievePropertiesEx(content.getPropertyCollector(), List.of(filter), new RetrieveOptions());
            while (result != null) {
                for (ObjectContent object : result.getObjects()) {
                    for (DynamicProperty property : object.getPropSet()) {
                        if (name.equals(property.getVal())) {
                            return object.getObj();
                        }
                    }
                }
                if (result.getToken() == null) {
                    break;
                }
                result = port.continueRetrievePropertiesEx(content.getPropertyCollector(), result.getToken());
            }
        } finally {
            port.destroyView(view);
        }
        throw new IllegalArgumentException("no VM is named " + name);
    }

    /** The transfer URL with its "*" host replaced by the host this sample called (reference 7.4). */
    URL transferUrl(String url) throws IOException {
        return new URL(url.replaceFirst("^(https?)://\\*", "$1://" + endpoint.getHost()));
    }

    void put(String url, Path file) throws IOException {
        HttpURLConnection connection = (HttpURLConnection) transferUrl(url).openConnection();
        connection.setRequestMethod("PUT");
        connection.setDoOutput(true);
        connection.setFixedLengthStreamingMode(Files.size(file));
        connection.setRequestProperty("Content-Type", "application/octet-stream");
        try (OutputStream out = connection.getOutputStream()) {
            Files.copy(file, out);
        }
        int status = connection.getResponseCode();
        if (status != 200 && status != 201) {
            throw new IOException("upload failed: HTTP " + status + " " + connection.getResponseMessage());
        }
    }

    long get(String url, Path file) throws IOException {
        HttpURLConnection connection = (HttpURLConnection) transferUrl(url).openConnection();
        int status = connection.getResponseCode();
        if (status != 200) {
            throw new IOException("download failed: HTTP " + status + " " + connection.getResponseMessage());
        }
        try (InputStream in = connection.getInputStream()) {
            return Files.copy(in, file, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    static GuestFileAttributes noAttributes() {
        return new GuestFileAttributes();
    }

    @Override
    public void close() {
        try {
            port.logout(content.getSessionManager());
        } catch (Exception ignored) {
            // the session ends with the process anyway
        }
    }

    private static void trustEveryCertificate() throws Exception {
        TrustManager[] trustAll = { new X509TrustManager() {
            public X509Certificate[] getAcceptedIssuers() { return new X509Certificate[0]; }
            public void checkClientTrusted(X509Certificate[] chain, String authType) { }
            public void checkServerTrusted(X509Certificate[] chain, String authType) { }
        } };
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(null, trustAll, new SecureRandom());
        HttpsURLConnection.setDefaultSSLSocketFactory(context.getSocketFactory());
        HttpsURLConnection.setDefaultHostnameVerifier((host, session) -> true);
    }
}
