// output_file: a write replaces a regular file (through its symlinks) and refuses anything else,
// leaving it as it was; the checks fail with a tlens::Error that says what the path is.
#include "tlens/loading/output_file.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "tlens/error.h"

namespace fs = std::filesystem;
using tlens::loading::AtomicFile;
using tlens::loading::checked_output_dir;
using tlens::loading::checked_output_file;
using tlens::loading::write_file_atomically;

namespace {

class OutputFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "tlens-output-file-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  static std::string read(const std::string& file) {
    std::ifstream in(file, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  static void write(const std::string& file, const std::string& text) {
    std::ofstream(file, std::ios::binary) << text;
  }

  // The names in the test folder: no temporary may be left behind.
  std::vector<std::string> listing() const {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(dir_)) names.push_back(entry.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  }

  // `check` must throw a tlens::Error whose message holds `words`; returns the message.
  template <typename Check>
  static std::string error_of(Check check, const std::string& words) {
    try {
      check();
    } catch (const tlens::Error& error) {
      EXPECT_NE(std::string(error.what()).find(words), std::string::npos) << error.what();
      return error.what();
    }
    ADD_FAILURE() << "expected a tlens::Error mentioning '" << words << "'";
    return "";
  }

  fs::path dir_;
};

TEST_F(OutputFileTest, WritesANewFileAndReplacesAnOldOneWhole) {
  write_file_atomically(path("new.txt"), "first");
  EXPECT_EQ(read(path("new.txt")), "first");
  write_file_atomically(path("new.txt"), "second, longer");
  EXPECT_EQ(read(path("new.txt")), "second, longer");
  EXPECT_EQ(listing(), std::vector<std::string>{"new.txt"});
}

TEST_F(OutputFileTest, ASymlinkIsWrittenThroughAndStaysALink) {
  write(path("target.txt"), "old");
  fs::create_symlink("target.txt", path("relative.link"));  // relative: read from the link's folder
  fs::create_symlink(path("relative.link"), path("chain.link"));
  EXPECT_EQ(checked_output_file(path("chain.link")), path("target.txt"));

  write_file_atomically(path("chain.link"), "new");
  EXPECT_TRUE(fs::is_symlink(path("chain.link")));
  EXPECT_TRUE(fs::is_symlink(path("relative.link")));
  EXPECT_EQ(fs::read_symlink(path("relative.link")), fs::path("target.txt"));
  EXPECT_TRUE(fs::is_regular_file(fs::symlink_status(path("target.txt"))));
  EXPECT_EQ(read(path("target.txt")), "new");
  EXPECT_EQ(listing(), (std::vector<std::string>{"chain.link", "relative.link", "target.txt"}));

  // A dangling link: the file it names is created, as a shell's `>` would.
  fs::create_symlink("later.txt", path("dangling.link"));
  write_file_atomically(path("dangling.link"), "made");
  EXPECT_TRUE(fs::is_symlink(path("dangling.link")));
  EXPECT_EQ(read(path("later.txt")), "made");
}

TEST_F(OutputFileTest, ADirectoryDeviceFifoOrSocketIsRefusedAndLeftAsItWas) {
  fs::create_directory(path("folder"));
  ASSERT_EQ(::mkfifo(path("pipe").c_str(), 0644), 0);
  fs::create_symlink("pipe", path("pipe.link"));
  // A listening unix socket; its path must fit sun_path.
  const std::string socket_path = path("sock");
  ASSERT_LT(socket_path.size(), sizeof(sockaddr_un::sun_path));
  int sock = ::socket(AF_UNIX, SOCK_STREAM, 0);
  ASSERT_GE(sock, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strcpy(address.sun_path, socket_path.c_str());
  ASSERT_EQ(::bind(sock, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);

  error_of([&] { write_file_atomically(path("folder"), "x"); }, "is a directory, not a regular file");
  error_of([&] { write_file_atomically(path("pipe"), "x"); }, "is a FIFO (named pipe)");
  const std::string through = error_of([&] { write_file_atomically(path("pipe.link"), "x"); }, "FIFO");
  EXPECT_NE(through.find("a link to " + path("pipe")), std::string::npos) << through;
  error_of([&] { write_file_atomically(socket_path, "x"); }, "is a socket");
  // A device: refused by the check itself (as root, a rename would replace the node).
  error_of([&] { checked_output_file("/dev/null"); }, "/dev/null: is a character device");
  error_of([&] { AtomicFile file("/dev/null"); }, "character device");
  ::close(sock);

  struct stat status {};
  ASSERT_EQ(::stat("/dev/null", &status), 0);
  EXPECT_TRUE(S_ISCHR(status.st_mode));
  EXPECT_TRUE(fs::is_directory(fs::symlink_status(path("folder"))));
  EXPECT_TRUE(fs::is_fifo(fs::symlink_status(path("pipe"))));
  EXPECT_TRUE(fs::is_symlink(path("pipe.link")));
  EXPECT_TRUE(fs::is_socket(fs::symlink_status(socket_path)));
  EXPECT_TRUE(fs::is_empty(path("folder")));
  EXPECT_EQ(listing(), (std::vector<std::string>{"folder", "pipe", "pipe.link", "sock"}));
}

TEST_F(OutputFileTest, AMissingFolderOrAFileAsFolderIsRefused) {
  error_of([&] { checked_output_file(path("no/such/out.txt")); },
           "its folder " + path("no/such") + " does not exist");
  write(path("plain.txt"), "x");
  error_of([&] { write_file_atomically(path("plain.txt/out.txt"), "x"); }, "is a regular file, not a folder");
  error_of([&] { checked_output_file(""); }, "is empty");
  fs::create_symlink("b.link", path("a.link"));
  fs::create_symlink("a.link", path("b.link"));
  error_of([&] { checked_output_file(path("a.link")); }, "more than 40 symlinks");
  EXPECT_EQ(listing(), (std::vector<std::string>{"a.link", "b.link", "plain.txt"}));
}

TEST_F(OutputFileTest, AnUnwritableFolderIsRefused) {
  if (::geteuid() == 0) GTEST_SKIP() << "root writes into any folder: nothing to refuse";
  fs::create_directory(path("locked"));
  fs::permissions(path("locked"), fs::perms::owner_read | fs::perms::owner_exec);
  error_of([&] { checked_output_file(path("locked/out.txt")); }, "is not writable");
  error_of([&] { checked_output_dir(path("locked/sub")); }, "is not writable");
  fs::permissions(path("locked"), fs::perms::owner_all);
}

TEST_F(OutputFileTest, KeepsTheReplacedFilesPermissions) {
  write(path("private.txt"), "old");
  fs::permissions(path("private.txt"), fs::perms::owner_read | fs::perms::owner_write);
  write_file_atomically(path("private.txt"), "new");
  EXPECT_EQ(fs::status(path("private.txt")).permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
}

// The temporary is created, never opened through a name someone put there first: a symlink
// planted where it goes (the old writer used `path + ".tmp"`) must not lead the write elsewhere.
TEST_F(OutputFileTest, APlantedTemporaryNameIsNotFollowed) {
  write(path("victim.txt"), "keep me");
  fs::create_symlink(path("victim.txt"), path("out.txt.tmp"));
  fs::create_symlink(path("victim.txt"), path("out.txt.tmp-" + std::to_string(::getpid())));
  write_file_atomically(path("out.txt"), "output");
  EXPECT_EQ(read(path("out.txt")), "output");
  EXPECT_EQ(read(path("victim.txt")), "keep me");
}

TEST_F(OutputFileTest, WithoutCommitTheTargetIsUntouched) {
  write(path("out.txt"), "old");
  {
    AtomicFile file(path("out.txt"));
    EXPECT_EQ(file.target(), path("out.txt"));
    file.write("half of the new");
  }
  EXPECT_EQ(read(path("out.txt")), "old");
  EXPECT_EQ(listing(), std::vector<std::string>{"out.txt"});
}

TEST_F(OutputFileTest, AnOutputFolderIsAFolderOrCanBeCreated) {
  fs::create_directory(path("existing"));
  EXPECT_EQ(checked_output_dir(path("existing")), path("existing"));
  EXPECT_EQ(checked_output_dir(path("existing") + "/"), path("existing"));
  EXPECT_EQ(checked_output_dir(path("new/nested")), path("new/nested"));
  EXPECT_FALSE(fs::exists(path("new")));  // checked, not created
  fs::create_symlink("existing", path("folder.link"));
  EXPECT_EQ(checked_output_dir(path("folder.link/")), path("existing"));

  write(path("plain.txt"), "x");
  ASSERT_EQ(::mkfifo(path("pipe").c_str(), 0644), 0);
  error_of([&] { checked_output_dir(path("plain.txt")); }, "is a regular file, not a folder");
  error_of([&] { checked_output_dir(path("pipe")); }, "is a FIFO (named pipe), not a folder");
  error_of([&] { checked_output_dir(path("plain.txt/sub")); }, "is a regular file, not a folder");
  error_of([&] { checked_output_dir("/dev/null"); }, "character device");
}

}  // namespace
