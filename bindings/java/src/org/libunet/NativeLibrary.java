package org.libunet;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.Locale;
import java.util.Set;

/**
 * Finds the native libraries: in the directory named by the system property
 * {@code unet.library.path}, or inside this jar, extracted to a private per-user cache
 * directory named by the libraries' SHA-256 ({@code $XDG_CACHE_HOME/libunet/<hash>}, else
 * {@code ~/.cache/libunet/<hash>}, mode 0700, owned by the user; when that cannot be had, a new
 * private temporary directory). A cached copy is used only if its bytes equal the jar's.
 */
final class NativeLibrary {
    /** In load order: libunet first, so the JNI library's dependency is already there. */
    static final String[] FILES = {"libunet.so.1", "libunet_jni.so"};

    private NativeLibrary() {
    }

    static String platform() {
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        String arch = System.getProperty("os.arch", "").toLowerCase(Locale.ROOT);
        if (os.startsWith("linux"))
            os = "linux";
        if (arch.equals("amd64") || arch.equals("x86_64"))
            arch = "x86_64";
        return os + "-" + arch;
    }

    static Path[] locate() {
        String dir = System.getProperty("unet.library.path");
        if (dir != null && !dir.isEmpty())
            return fromDirectory(Paths.get(dir));
        try {
            return extract();
        } catch (IOException e) {
            UnsatisfiedLinkError error = new UnsatisfiedLinkError(
                    "libunet: cannot extract the native libraries: " + e.getMessage());
            error.initCause(e);
            throw error;
        }
    }

    private static Path[] fromDirectory(Path dir) {
        Path jni = dir.resolve(FILES[1]), lib = dir.resolve(FILES[0]);
        if (!Files.isRegularFile(jni))
            throw new UnsatisfiedLinkError("libunet: no " + FILES[1] + " in unet.library.path "
                    + dir);
        // Without libunet.so.1 beside it, the dynamic linker finds the installed one.
        if (!Files.isRegularFile(lib))
            return new Path[] {jni.toAbsolutePath()};
        return new Path[] {lib.toAbsolutePath(), jni.toAbsolutePath()};
    }

    private static Path[] extract() throws IOException {
        String resourceDir = "natives/" + platform() + "/";
        byte[][] contents = new byte[FILES.length][];
        MessageDigest sha;
        try {
            sha = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IOException("no SHA-256", e);
        }
        for (int i = 0; i < FILES.length; i++) {
            contents[i] = read(resourceDir + FILES[i]);
            sha.update(FILES[i].getBytes("UTF-8"));
            sha.update(new byte[] {0});
            sha.update(contents[i]);
        }
        String hash = hex(sha.digest()).substring(0, 32);
        Path cached = null;
        try {
            cached = cacheDirectory(hash, contents);
        } catch (IOException e) {
            cached = null;
        }
        if (cached == null) {
            // No usable home cache: a fresh private directory (0700) for this process.
            Path tmp = Files.createTempDirectory("libunet-");
            writeAll(tmp, contents);
            tmp.toFile().deleteOnExit();
            for (String f : FILES)
                tmp.resolve(f).toFile().deleteOnExit();
            cached = tmp;
        }
        Path[] paths = new Path[FILES.length];
        for (int i = 0; i < FILES.length; i++)
            paths[i] = cached.resolve(FILES[i]);
        return paths;
    }

    private static byte[] read(String resource) throws IOException {
        InputStream in = NativeLibrary.class.getResourceAsStream(resource);
        if (in == null)
            throw new IOException("this jar has no native library for " + platform() + " ("
                    + resource + "); build libunet for this platform, or set -Dunet.library.path");
        try {
            ByteArrayOutputStream out = new ByteArrayOutputStream(1 << 20);
            byte[] buffer = new byte[1 << 16];
            for (int n; (n = in.read(buffer)) > 0;)
                out.write(buffer, 0, n);
            return out.toByteArray();
        } finally {
            in.close();
        }
    }

    private static Path cacheBase() {
        String xdg = System.getenv("XDG_CACHE_HOME");
        if (xdg != null && xdg.startsWith("/"))
            return Paths.get(xdg);
        String home = System.getProperty("user.home");
        if (home == null || home.isEmpty() || home.equals("?"))
            return null;
        return Paths.get(home, ".cache");
    }

    private static final Set<PosixFilePermission> PRIVATE_DIR =
            PosixFilePermissions.fromString("rwx------");

    /** base/libunet/<hash>, created or verified; null when no private place can be had. */
    private static Path cacheDirectory(String hash, byte[][] contents) throws IOException {
        Path base = cacheBase();
        if (base == null)
            return null;
        Path root = base.resolve("libunet");
        Files.createDirectories(root, PosixFilePermissions.asFileAttribute(PRIVATE_DIR));
        // A scratch directory of ours tells who we are; the cache root must be ours and
        // writable by nobody else, or someone else could plant a library there.
        Path scratch = Files.createTempDirectory(root, ".extract-");
        try {
            if (!isPrivate(root, scratch))
                return null;
            Path target = root.resolve(hash);
            if (Files.isDirectory(target, LinkOption.NOFOLLOW_LINKS)) {
                if (isPrivate(target, scratch) && matches(target, contents))
                    return target;
                removeAll(target); // damaged or foreign: replaced below
            }
            writeAll(scratch, contents);
            try {
                Files.move(scratch, target, StandardCopyOption.ATOMIC_MOVE);
                scratch = null;
            } catch (FileSystemException e) {
                // Another process extracted the same libraries first.
            }
            return isPrivate(target, root) && matches(target, contents) ? target : null;
        } finally {
            if (scratch != null)
                removeAll(scratch);
        }
    }

    private static boolean isPrivate(Path dir, Path ours) throws IOException {
        if (Files.isSymbolicLink(dir))
            return false;
        if (!Files.getOwner(dir, LinkOption.NOFOLLOW_LINKS).equals(
                Files.getOwner(ours, LinkOption.NOFOLLOW_LINKS)))
            return false;
        Set<PosixFilePermission> p = Files.getPosixFilePermissions(dir, LinkOption.NOFOLLOW_LINKS);
        return !p.contains(PosixFilePermission.GROUP_WRITE)
                && !p.contains(PosixFilePermission.OTHERS_WRITE);
    }

    private static boolean matches(Path dir, byte[][] contents) throws IOException {
        for (int i = 0; i < FILES.length; i++) {
            Path f = dir.resolve(FILES[i]);
            if (!Files.isRegularFile(f, LinkOption.NOFOLLOW_LINKS) || Files.size(f) != contents[i].length
                    || !Arrays.equals(Files.readAllBytes(f), contents[i]))
                return false;
        }
        return true;
    }

    private static void writeAll(Path dir, byte[][] contents) throws IOException {
        for (int i = 0; i < FILES.length; i++) {
            Path f = dir.resolve(FILES[i]);
            Files.write(f, contents[i]);
            Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("r-x------"));
        }
    }

    private static void removeAll(Path dir) throws IOException {
        if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS))
            return;
        if (Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
            try (java.nio.file.DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
                for (Path e : entries)
                    Files.delete(e);
            }
        }
        Files.delete(dir);
    }

    private static String hex(byte[] bytes) {
        StringBuilder s = new StringBuilder(bytes.length * 2);
        for (byte b : bytes)
            s.append(String.format("%02x", b & 0xff));
        return s.toString();
    }
}
